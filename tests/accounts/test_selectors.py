import pytest

from accounts.selectors import user_summary, username_as_stored
from recommendations.selectors import user_export


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


class TestUserExport:
    def test_holds_every_row_of_the_user(self, user, history):
        rows = history(user)
        done, corrected = rows["done"], rows["corrected"]

        document = user_export(user=user)

        assert document["account"] == {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "first_name": "",
            "last_name": "",
            "date_joined": user.date_joined,
            "last_login": None,
            "strategy": "match",
            "photo_retention": "24h",
            "share_photos_for_training": False,
        }
        assert {row["id"] for row in document["detections"]} == {detection.pk for detection in rows["detections"]}
        assert next(row for row in document["detections"] if row["id"] == done.pk) == {
            "id": done.pk,
            "status": "done",
            "created": done.created,
            "started": None,
            "finished": None,
            "emotion": "happy",
            "confidence": 0.76,
            "probabilities": done.probabilities,
            "faces": done.faces,
            "mood": "Happy",
            "corrected_emotion": None,
            "error": "",
            "model_version": "emotion-test-model",
            "attempts": 0,
            "image_width": 640,
            "image_height": 480,
            "photo_stored": True,
            "photo_deleted": None,
        }
        failed = next(row for row in document["detections"] if row["status"] == "failed")
        assert (failed["emotion"], failed["error"], failed["photo_stored"]) == (
            None,
            "That file is not a photo.",
            False,
        )
        assert document["corrections"] == [{"id": corrected.pk, "emotion": "sad", "corrected_emotion": "angry"}]
        assert document["outcomes"] == [
            {
                "detection": done.pk,
                "strategy": "uplift",
                "mood_before": 2,
                "mood_after": 4,
                "created": rows["outcome"].created,
                "updated": rows["outcome"].updated,
            }
        ]
        by_id = {row["id"]: row for row in document["ratings"]}
        first, second = rows["ratings"]
        assert set(by_id) == {first.pk, second.pk}
        assert by_id[first.pk]["song"] == {
            "id": first.song.pk,
            "name": first.song.name,
            "artist": first.song.artist,
            "spotify_id": first.song.spotify_id,
        }
        assert (by_id[first.pk]["score"], by_id[first.pk]["detection"], by_id[first.pk]["emotion"]) == (
            5,
            done.pk,
            "happy",
        )
        assert (by_id[second.pk]["score"], by_id[second.pk]["detection"], by_id[second.pk]["emotion"]) == (
            2,
            None,
            None,
        )

    def test_holds_nothing_of_another_user(self, user, other_user, history):
        history(user)
        theirs = history(other_user)

        document = user_export(user=user)

        detection_ids = {row["id"] for row in document["detections"]}
        assert detection_ids.isdisjoint(detection.pk for detection in theirs["detections"])
        assert {row["id"] for row in document["corrections"]} == {
            row["id"] for row in document["detections"] if row["corrected_emotion"]
        }
        assert {row["detection"] for row in document["outcomes"]} <= detection_ids
        assert theirs["outcome"].detection_id not in {row["detection"] for row in document["outcomes"]}
        assert {row["id"] for row in document["ratings"]}.isdisjoint(rating.pk for rating in theirs["ratings"])
        assert {row["song"]["id"] for row in document["ratings"]}.isdisjoint(song.pk for song in theirs["songs"])
        assert other_user.username not in repr(document)

    def test_a_new_user_has_an_empty_history(self, user):
        document = user_export(user=user)

        assert (document["detections"], document["corrections"], document["outcomes"], document["ratings"]) == (
            [],
            [],
            [],
            [],
        )

    @pytest.mark.parametrize("histories", [1, 4])
    def test_costs_a_fixed_number_of_queries(self, user, history, django_assert_num_queries, histories):
        for _ in range(histories):
            history(user)
        user_export(user=user)  # loads the song catalog into the process's cache, as any earlier page has

        # The user's detections, outcomes, ratings and genres left out; the mood map's small tables with the
        # catalog's freshness check, in one: the same five however many selfies there are.
        with django_assert_num_queries(5):
            user_export(user=user)
