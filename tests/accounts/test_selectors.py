from accounts.selectors import user_summary, username_as_stored


def test_summary_counts_only_the_users_own_rows(user, other_user, footprint):
    footprint(user)
    footprint(other_user)
    user.strategy = "calm"
    user.save()

    summary = user_summary(user=user)

    assert summary["id"] == user.pk
    assert summary["username"] == user.username
    assert summary["email"] == user.email
    assert summary["strategy"] == "calm"
    assert summary["photo_retention"] == "24h"
    assert summary["share_photos_for_training"] is False
    assert (summary["detections"], summary["ratings"]) == (2, 2)


def test_summary_of_a_new_user_has_zero_counts(user):
    summary = user_summary(user=user)

    assert (summary["detections"], summary["ratings"]) == (0, 0)


def test_username_as_stored_finds_any_case(user):
    assert username_as_stored(username=f"  {user.username.upper()} ") == user.username


def test_username_as_stored_returns_an_unknown_name_as_typed(db):
    assert username_as_stored(username="nobody") == "nobody"
