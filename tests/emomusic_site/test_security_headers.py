"""Content-Security-Policy and Permissions-Policy: the exact headers, and templates that need nothing inline.

tests/journeys/test_security_policy.py loads the pages in chromium under these headers.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"

SITE_POLICY = {
    "default-src": ["'self'"],
    "frame-src": ["https://open.spotify.com"],
    "img-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
SPOTIFY = '"https://open.spotify.com"'
PERMISSIONS_POLICY = {
    "camera": "(self)",
    "microphone": "()",
    "geolocation": "()",
    "accelerometer": "()",
    "browsing-topics": "()",
    "display-capture": "()",
    "gyroscope": "()",
    "interest-cohort": "()",
    "magnetometer": "()",
    "midi": "()",
    "payment": "()",
    "usb": "()",
    "autoplay": f"(self {SPOTIFY})",
    "clipboard-write": f"(self {SPOTIFY})",
    "encrypted-media": f"(self {SPOTIFY})",
    "fullscreen": f"(self {SPOTIFY})",
    "picture-in-picture": f"(self {SPOTIFY})",
}


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def features(header: str) -> dict[str, str]:
    return dict(item.strip().split("=", 1) for item in header.split(","))


@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/accounts/signup/", "/healthz", "/api/schema/", "/admin/login/"]
)
def test_every_answer_carries_both_policies(client, db, path):
    response = client.get(path)

    assert response.status_code in (200, 503)  # /healthz may find no broker here
    assert directives(response["Content-Security-Policy"]) == SITE_POLICY
    assert features(response["Permissions-Policy"]) == PERMISSIONS_POLICY


def test_pages_of_a_signed_in_user_and_the_api_carry_them(client, user):
    client.force_login(user)

    for path in ("/", "/history/", "/accounts/profile/", "/api/me/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert directives(response["Content-Security-Policy"]) == SITE_POLICY, path
        assert features(response["Permissions-Policy"]) == PERMISSIONS_POLICY, path


def test_the_api_docs_alone_may_show_data_images_and_load_their_script_from_the_site(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == SITE_POLICY | {"img-src": ["'self'", "blob:", "data:"]}
    page = response.content.decode()
    assert "<style" not in page
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_no_template_needs_an_inline_script_style_or_handler():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    found = {
        str(path.relative_to(TEMPLATES_DIR)): inline.findall(path.read_text())
        for path in TEMPLATES_DIR.rglob("*.html")
        if inline.search(path.read_text())
    }

    assert found == {}
