"""Screens are composed at the top: no seam through which a lower app calls a higher one, and no app's
template that pulls in another app's."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "catalog", "detection", "insights", "recommendations")
TEMPLATES = ROOT / "templates"
# A template naming another template: {% include "app/..." %} or {% extends "app/..." %}.
TEMPLATE_REFERENCE = re.compile(r"""{%\s*(?:include|extends)\s+["']([^"'/]+)/""")
# The seams that let a lower app call up: start-up registries, a signal that stops a deletion, a receiver
# that writes when another app's row is deleted.
SEAMS = re.compile(
    r"mood_chooser_register|user_export_register|user_deleting|UserDeleteUnavailable|"
    r"def \w+_register\(|pre_delete\.connect"
)


def app_sources() -> list[Path]:
    return sorted(path for app in APPS for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts)


def test_no_app_offers_a_seam_for_a_higher_one_to_fill():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in app_sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SEAMS.search(line)
    ]

    assert found == []


def test_the_one_signal_an_app_defines_drops_the_recommenders_cache():
    defined = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in app_sources()
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"=\s*Signal\(", line)
    ]

    assert defined == ["catalog/signals.py: songs_changed = Signal()"]


def app_templates() -> list[tuple[str, Path]]:
    """Each app's templates: templates/<app>/ and its admin pages, templates/admin/<app>/."""
    return [
        (app, path)
        for app in APPS
        for folder in (TEMPLATES / app, TEMPLATES / "admin" / app)
        for path in sorted(folder.rglob("*.html"))
    ]


def test_the_apps_have_templates_to_check():
    # accounts has none of its own: its pages are the site's registration/ templates, and the profile, which
    # offers the catalog's genres, is composed in recommendations.
    assert {app for app, _ in app_templates()} >= {"catalog", "insights", "recommendations"}


@pytest.mark.parametrize(("app", "template"), app_templates(), ids=lambda value: str(value).split("templates/")[-1])
def test_an_apps_template_includes_only_its_own_or_the_sites(app, template):
    named = set(TEMPLATE_REFERENCE.findall(template.read_text(encoding="utf-8")))

    assert not (named & set(APPS)) - {app}, f"{template.relative_to(ROOT)} includes another app's template"


@pytest.mark.parametrize("app", APPS)
def test_an_apps_code_renders_only_its_own_templates_or_the_sites(app):
    named = {
        f"{path.relative_to(ROOT)}: {folder}/"
        for path in (ROOT / app).rglob("*.py")
        for folder in re.findall(r"""["']([a-z_]+)/[\w/]+\.html["']""", path.read_text(encoding="utf-8"))
        if folder in APPS and folder != app
    }

    assert named == set()
