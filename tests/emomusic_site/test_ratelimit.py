import threading
import time

import pytest
from django.db import connection, connections

from emomusic_site.models import RateLimitWindow
from emomusic_site.ratelimit import RateLimited, client_address, rate_limit_hit


@pytest.fixture
def small_limits(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_address": (3, 60)}
    settings.RATE_LIMITS_ENABLED = True


@pytest.mark.django_db
def test_attempts_within_the_limit_pass_and_the_next_is_refused(small_limits):
    for _ in range(3):
        rate_limit_hit(scope="login_address", key="alice")

    with pytest.raises(RateLimited) as refused:
        rate_limit_hit(scope="login_address", key="alice")

    assert 0 < refused.value.retry_after_seconds <= 60
    assert "Try again in" in str(refused.value)


@pytest.mark.django_db
def test_keys_are_counted_separately_and_case_insensitively(small_limits):
    for _ in range(3):
        rate_limit_hit(scope="login_address", key="Alice")
    rate_limit_hit(scope="login_address", key="bob")

    with pytest.raises(RateLimited):
        rate_limit_hit(scope="login_address", key="alice")


@pytest.mark.django_db
def test_limits_can_be_switched_off(small_limits, settings):
    settings.RATE_LIMITS_ENABLED = False

    for _ in range(10):
        rate_limit_hit(scope="login_address", key="alice")


@pytest.mark.django_db
def test_a_window_is_one_row_in_the_database_ending_with_the_window(small_limits):
    rate_limit_hit(scope="login_address", key="alice")
    rate_limit_hit(scope="login_address", key="ALICE")

    (window,) = RateLimitWindow.objects.all()
    assert window.name.startswith("login_address:") and window.attempts == 2
    assert window.expires_at % 60 == 0 and 0 < window.expires_at - time.time() <= 60


@pytest.mark.django_db
def test_a_windows_first_attempt_deletes_the_windows_that_have_ended(small_limits):
    now = int(time.time())
    RateLimitWindow.objects.create(name="login_address:old:1", attempts=9, expires_at=now - 1)
    RateLimitWindow.objects.create(name="upload_user:current:2", attempts=4, expires_at=now + 30)

    rate_limit_hit(scope="login_address", key="alice")

    assert sorted(RateLimitWindow.objects.values_list("name", "attempts")) == [
        (RateLimitWindow.objects.get(name__startswith="login_address:").name, 1),
        ("upload_user:current:2", 4),
    ]


@pytest.mark.django_db(transaction=True)
def test_attempts_made_at_once_are_each_counted(settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write at a time: attempts at once need PostgreSQL (CI's second pass)")
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_address": (12, 60)}
    settings.RATE_LIMITS_ENABLED = True
    start = threading.Barrier(12)
    refused: list[RateLimited] = []

    def attempt() -> None:
        try:
            start.wait()
            rate_limit_hit(scope="login_address", key="mallory")
        except RateLimited as error:
            refused.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Twelve at once are the limit exactly: none refused, and none lost, so the thirteenth is refused.
    assert refused == []
    assert RateLimitWindow.objects.get().attempts == 12
    with pytest.raises(RateLimited):
        rate_limit_hit(scope="login_address", key="mallory")


class TestClientAddress:
    def request(self, remote: str, forwarded: str | None = None):
        from django.test import RequestFactory

        extra = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            extra["HTTP_X_FORWARDED_FOR"] = forwarded
        return RequestFactory().get("/", **extra)

    def test_without_trusted_proxies_a_forwarded_header_is_ignored(self, settings):
        settings.TRUSTED_PROXIES = []

        assert client_address(self.request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"

    def test_behind_a_trusted_proxy_the_client_is_the_address_it_forwarded(self, settings):
        settings.TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]

        assert client_address(self.request("127.0.0.1", "198.51.100.7")) == "198.51.100.7"
        # Chains of trusted proxies are walked from the right.
        assert client_address(self.request("127.0.0.1", "198.51.100.7, 10.1.2.3")) == "198.51.100.7"

    def test_addresses_a_client_prepends_are_never_believed(self, settings):
        settings.TRUSTED_PROXIES = ["127.0.0.1"]

        # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the real address.
        assert client_address(self.request("127.0.0.1", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"

    def test_a_header_from_an_untrusted_peer_is_ignored(self, settings):
        settings.TRUSTED_PROXIES = ["127.0.0.1"]

        assert client_address(self.request("203.0.113.9", "198.51.100.7")) == "203.0.113.9"

    @pytest.mark.parametrize("forwarded", ["", "not-an-address", "198.51.100.7, garbage", " , "])
    def test_garbage_falls_back_to_the_last_address_a_trusted_proxy_vouched_for(self, settings, forwarded):
        settings.TRUSTED_PROXIES = ["127.0.0.1"]

        assert client_address(self.request("127.0.0.1", forwarded)) == "127.0.0.1"
