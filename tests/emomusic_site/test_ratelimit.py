import pytest
from django.core.cache import caches

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
def test_counters_live_in_the_shared_database_cache(small_limits):
    rate_limit_hit(scope="login_address", key="alice")

    assert caches["ratelimit"].__class__.__name__ == "DatabaseCache"


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
