"""Settings behave per DJANGO_ENV; each case runs in a fresh interpreter."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def run_fresh(argv: list[str], *, unset: tuple[str, ...] = (), **env_overrides: str) -> subprocess.CompletedProcess:
    """Run Python with `argv` in a fresh interpreter, without the `unset` variables and with the overrides."""
    env = {k: v for k, v in os.environ.items() if k not in unset} | env_overrides
    return subprocess.run([sys.executable, *argv], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def run_manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    unset = ("SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ENV", "DJANGO_ALLOW_ASYNC_UNSAFE")
    return run_fresh(["manage.py", *args], unset=unset, **env_overrides)


def run_python(code: str, *, unset: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return run_fresh(["-c", code], unset=unset, DJANGO_SETTINGS_MODULE="emomusic_site.settings")


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DJANGO_ENV="production", ALLOWED_HOSTS="emomusic.example.com")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run_manage("check", DJANGO_ENV="production", SECRET_KEY="x" * 60)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_settings_pass_the_deploy_checklist():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY="a-production-secret-" + "k" * 50,
        ALLOWED_HOSTS="emomusic.example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unknown_environment_name_is_refused():
    result = run_manage("check", DJANGO_ENV="prod")

    assert result.returncode != 0
    assert "DJANGO_ENV" in result.stderr


def test_the_web_process_never_imports_tensorflow():
    """Loading every URL, view, admin and API module must leave TensorFlow out."""
    code = (
        "import sys, django; django.setup();"
        "from django.urls import get_resolver; get_resolver().url_patterns;"
        "from django.contrib import admin; admin.autodiscover();"
        "from django.test import Client; Client().get('/healthz');"
        "import emomusic_site.wsgi;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'tensorflow', 'keras', 'jax', 'cv2'});"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = run_python(code)

    assert result.returncode == 0, result.stdout + result.stderr


def test_manage_check_and_migrate_plan_do_not_import_tensorflow():
    code = (
        "import sys; from django.core.management import execute_from_command_line;"
        "execute_from_command_line(['manage.py', 'check']);"
        "execute_from_command_line(['manage.py', 'showmigrations', '--plan']);"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'tensorflow', 'keras'});"
        "sys.exit(1 if bad else 0)"
    )
    result = run_python(code)

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_a_test_run_names_its_environment_and_the_settings_guess_nothing():
    from django.conf import settings

    # Set by pytest's configuration (pyproject.toml's `env`), before the settings were read.
    assert os.environ["DJANGO_ENV"] == "test"
    assert settings.DJANGO_ENV == "test"
    # Without DJANGO_ENV, a process that has imported pytest is development like any other.
    code = "import pytest, django; django.setup(); from django.conf import settings; print(settings.DJANGO_ENV)"
    result = run_python(code, unset=("DJANGO_ENV",))
    assert result.stdout.strip() == "development", result.stderr


def test_development_serves_the_sites_own_error_pages_unless_debug_is_asked_for():
    code = ["-c", "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"]
    module = {"DJANGO_SETTINGS_MODULE": "emomusic_site.settings"}
    quiet = run_fresh(code, unset=("DJANGO_ENV", "DEBUG"), **module)
    asked = run_fresh(code, unset=("DJANGO_ENV",), DEBUG="1", **module)

    assert quiet.stdout.strip() == "False", quiet.stderr
    assert asked.stdout.strip() == "True", asked.stderr


def test_a_malformed_admin_email_is_named_in_one_sentence_and_the_command_succeeds(tmp_path):
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    assert run_manage("migrate", "--noinput", **database).returncode == 0
    admin = {"DJANGO_SUPERUSER_USERNAME": "boss", "DJANGO_SUPERUSER_PASSWORD": "a long enough password 42"}

    result = run_manage("ensure_superuser", DJANGO_SUPERUSER_EMAIL="a@b.c", **admin, **database)

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (
        "DJANGO_SUPERUSER_EMAIL='a@b.c' is not an e-mail address (name@example.com): "
        "the site starts without that admin."
    )
    assert "Traceback" not in result.stdout + result.stderr
    shell = "from accounts.models import User; print(User.objects.filter(username='boss').count())"
    assert run_manage("shell", "-c", shell, **database).stdout.strip().splitlines()[-1] == "0"
