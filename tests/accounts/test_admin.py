from django.urls import reverse

from accounts.models import User
from detection.models import Detection


def test_the_user_list_shows_the_preferences(staff, user):
    response = staff.get(reverse("admin:accounts_user_changelist"), {"strategy__exact": "match"})

    assert response.status_code == 200
    assert user in response.context["cl"].result_list
    assert "strategy" in response.context["cl"].list_display


def test_staff_edits_the_preferences(staff, user):
    url = reverse("admin:accounts_user_change", args=[user.pk])
    data = {
        "username": user.username,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "12:00:00",
        "strategy": "calm",
        "photo_retention": "keep",
        "share_photos_for_training": "on",
    }

    response = staff.post(url, data)

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.strategy, user.photo_retention, user.share_photos_for_training) == ("calm", "keep", True)


def test_deleting_a_user_in_the_admin_deletes_the_photo_files(staff, user, footprint):
    mine = footprint(user)

    response = staff.post(reverse("admin:accounts_user_delete", args=[user.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Detection.objects.filter(user_id=user.pk).exists()
    assert not any(photo.exists() for photo in mine["photos"])


def test_the_bulk_delete_action_deletes_the_photo_files(staff, user, other_user, footprint):
    photos = footprint(user)["photos"] + footprint(other_user)["photos"]

    response = staff.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [user.pk, other_user.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[user.pk, other_user.pk]).exists()
    assert not any(photo.exists() for photo in photos)


def test_a_normal_user_cannot_open_the_user_admin(client, user):
    client.force_login(user)

    response = client.get(reverse("admin:accounts_user_changelist"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
