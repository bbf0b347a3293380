import pytest
from django.test import Client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/song/?genre__exact=%00",
        "/admin/catalog/song/?q=a%00b",
        "/admin/catalog/song/?%00=1",
    ],
)
def test_a_nul_in_the_query_string_is_a_400_page(staff_user, url):
    client = Client()
    client.force_login(staff_user)

    response = client.get(url)

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_the_rest_of_the_site_is_left_to_its_own_handling(api_client):
    # The catalog search takes NUL as plain text (tests/hardening/test_bad_input.py).
    assert api_client.get("/api/songs/?search=%00").status_code == 200


def test_queries_without_nul_pass(staff_user):
    client = Client()
    client.force_login(staff_user)

    assert client.get("/admin/catalog/song/?genre__exact=Pop").status_code == 200
