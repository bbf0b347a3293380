"""A username that reads as another user's (Unicode TR39 skeletons, in any case) is refused everywhere one is chosen.

The mixed-script rule (tests of accounts.validators elsewhere) catches "palice" with one Cyrillic
letter; these are names written wholly in another alphabet, such as "cope" in Cyrillic letters beside a Latin "cope".
"""

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.validators import LOOKALIKE_USERNAME, username_skeleton
from tests.factories import UserFactory

STRONG = "correct-horse-battery-staple-9"
CYRILLIC_COPE = "\u0441\u043e\u0440\u0435"  # Cyrillic small es, o, er, ie
CYRILLIC_COPE_CAPITALS = "\u0421\u041e\u0420\u0415"  # the same in capitals

pytestmark = pytest.mark.django_db


def usernames() -> list[str]:
    return sorted(User.objects.values_list("username", flat=True))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("cope", CYRILLIC_COPE),
        ("Cope", CYRILLIC_COPE),
        ("COPE", CYRILLIC_COPE_CAPITALS),
        ("cope", CYRILLIC_COPE_CAPITALS),
        ("paypal", "\u0440\u0430\u0443\u0440\u0430l"),
        ("abe", "\u0391\u0392\u0395"),  # Greek capitals
        ("bill", "bi11"),
    ],
)
def test_names_that_read_alike_share_a_skeleton(one, other):
    assert username_skeleton(one) == username_skeleton(other)


@pytest.mark.parametrize(("one", "other"), [("cope", "cape"), ("alice", "alicia"), ("jose", "jos\u00e9")])
def test_names_that_read_differently_do_not(one, other):
    assert username_skeleton(one) != username_skeleton(other)


class TestSignUp:
    @pytest.mark.parametrize("existing", ["cope", "Cope", "COPE"])
    @pytest.mark.parametrize("candidate", [CYRILLIC_COPE, CYRILLIC_COPE_CAPITALS])
    def test_the_api_refuses_a_lookalike_in_any_case(self, anon_client, existing, candidate):
        UserFactory(username=existing)

        response = anon_client.post("/api/auth/signup/", {"username": candidate, "password": STRONG}, format="json")

        assert response.status_code == 400
        assert response.json() == {"username": [LOOKALIKE_USERNAME]}
        assert usernames() == [existing]

    def test_the_sign_up_page_refuses_it(self, client):
        UserFactory(username="cope")
        data = {"username": CYRILLIC_COPE, "email": "", "password1": STRONG, "password2": STRONG}

        response = client.post(reverse("signup"), data)

        assert response.status_code == 200
        assert "looks like another user" in response.content.decode()
        assert usernames() == ["cope"]

    def test_a_name_in_another_alphabet_that_reads_differently_is_fine(self, anon_client):
        UserFactory(username="cope")

        response = anon_client.post(
            "/api/auth/signup/", {"username": "\u043e\u043b\u044f", "password": STRONG}, format="json"
        )

        assert response.status_code == 201
        assert usernames() == ["cope", "\u043e\u043b\u044f"]


class TestAdmin:
    def test_adding_a_lookalike_user_is_refused(self, staff):
        UserFactory(username="cope")
        data = {"username": CYRILLIC_COPE, "usable_password": "true", "password1": STRONG, "password2": STRONG}

        response = staff.post(reverse("admin:accounts_user_add"), data)

        assert response.status_code == 200
        assert response.context["adminform"].form.errors["username"] == [LOOKALIKE_USERNAME]
        assert not User.objects.filter(username=CYRILLIC_COPE).exists()

    def test_renaming_a_user_to_a_lookalike_is_refused(self, staff, user):
        UserFactory(username="cope")
        form = staff.get(reverse("admin:accounts_user_change", args=[user.pk])).context["adminform"].form
        data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
        data.pop("password", None)
        data.update(
            {
                "username": CYRILLIC_COPE_CAPITALS,
                "date_joined_0": "2026-01-01",
                "date_joined_1": "12:00:00",
                "is_active": "on",
            }
        )

        response = staff.post(reverse("admin:accounts_user_change", args=[user.pk]), data)

        assert response.status_code == 200
        assert response.context["adminform"].form.errors["username"] == [LOOKALIKE_USERNAME]
        user.refresh_from_db()
        assert user.username != CYRILLIC_COPE_CAPITALS

    def test_a_user_keeping_their_name_is_not_refused_for_it(self, staff):
        # Two accounts that read alike from before the rule: editing one's other fields still works.
        UserFactory(username="cope")
        legacy = UserFactory(username=CYRILLIC_COPE)
        data = {
            "username": CYRILLIC_COPE,
            "email": "",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "12:00:00",
            "strategy": "calm",
            "photo_retention": "keep",
        }

        response = staff.post(reverse("admin:accounts_user_change", args=[legacy.pk]), data)

        assert response.status_code == 302
        legacy.refresh_from_db()
        assert legacy.strategy == "calm"
