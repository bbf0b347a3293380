import pytest
from django.core.cache import caches

from emomusic_site.ratelimit import RateLimited, rate_limit_hit


@pytest.fixture
def small_limits(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account": (3, 60)}
    settings.RATE_LIMITS_ENABLED = True


@pytest.mark.django_db
def test_attempts_within_the_limit_pass_and_the_next_is_refused(small_limits):
    for _ in range(3):
        rate_limit_hit(scope="login_account", key="alice")

    with pytest.raises(RateLimited) as refused:
        rate_limit_hit(scope="login_account", key="alice")

    assert 0 < refused.value.retry_after_seconds <= 60
    assert "Try again in" in str(refused.value)


@pytest.mark.django_db
def test_keys_are_counted_separately_and_case_insensitively(small_limits):
    for _ in range(3):
        rate_limit_hit(scope="login_account", key="Alice")
    rate_limit_hit(scope="login_account", key="bob")

    with pytest.raises(RateLimited):
        rate_limit_hit(scope="login_account", key="alice")


@pytest.mark.django_db
def test_limits_can_be_switched_off(small_limits, settings):
    settings.RATE_LIMITS_ENABLED = False

    for _ in range(10):
        rate_limit_hit(scope="login_account", key="alice")


@pytest.mark.django_db
def test_counters_live_in_the_shared_database_cache(small_limits):
    rate_limit_hit(scope="login_account", key="alice")

    assert caches["ratelimit"].__class__.__name__ == "DatabaseCache"
