"""Passwords are stored with Argon2id at OWASP's parameters, and older hashes are upgraded at log-in.

The suite stores passwords with MD5 for speed; these tests put production's hashers back.
"""

import json

import pytest
from django.contrib.auth.hashers import make_password
from django.test import override_settings

from accounts.models import User
from tests.emomusic_site.test_settings import run_manage
from tests.factories import UserFactory

PRODUCTION_HASHERS = ["accounts.hashers.Argon2idPasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]


def test_production_stores_new_passwords_with_argon2id_first():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; import json; print(json.dumps(settings.PASSWORD_HASHERS))",
        DJANGO_ENV="production",
        SECRET_KEY="a-production-secret-" + "k" * 50,
        ALLOWED_HOSTS="emomusic.example.com",
    )

    assert result.returncode == 0, result.stderr
    hashers = json.loads(result.stdout.strip().splitlines()[-1])
    assert hashers[0] == "accounts.hashers.Argon2idPasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in hashers  # passwords stored before still read


@override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS)
def test_a_new_password_is_argon2id_with_19_mib_two_passes_one_lane():
    encoded = make_password("correct horse battery")

    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.django_db
@override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS)
def test_a_pbkdf2_password_is_rehashed_with_argon2id_when_its_owner_logs_in(client):
    user = UserFactory(username="ada")
    User.objects.filter(pk=user.pk).update(password=make_password("correct horse battery", hasher="pbkdf2_sha256"))

    response = client.post("/api/auth/token/", {"username": "ada", "password": "correct horse battery"})

    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert user.check_password("correct horse battery")
