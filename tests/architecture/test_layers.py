"""The import layers (pyproject.toml, [tool.importlinter]) hold, and an import that breaks them is caught."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "catalog", "detection", "devserver", "emomusic_site", "insights", "ml", "recommendations")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The packages' Python files and the configuration, copied so that an import can be injected."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.csv", "*.keras", "*.png"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def inject(path: Path, line: str) -> None:
    path.write_text(f"{line}\n{path.read_text(encoding='utf-8')}", encoding="utf-8")


def test_the_project_keeps_its_contracts(tree):
    configuration = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = configuration["tool"]["importlinter"]["contracts"]

    result = lint_imports(tree)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(contracts)} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("catalog/models.py", "import recommendations.selectors", "catalog is not allowed to import recommendations"),
        (
            "accounts/selectors.py",
            "from detection.models import Detection",
            "accounts is not allowed to import detection",
        ),
        ("detection/services.py", "from catalog.models import Song", "detection is not allowed to import catalog"),
        ("ml/runtime/labels.py", "import django", "ml is not allowed to import django"),
        (
            "detection/selectors.py",
            "from recommendations.selectors import detection_moods_for",
            "detection is not allowed to import recommendations",
        ),
        (
            "insights/views.py",
            "from recommendations.views import UPLOAD_TEMPLATE",
            "insights.views -> recommendations.views",
        ),
        ("emomusic_site/urls.py", "import devserver.run", "emomusic_site.urls is not allowed to import devserver"),
    ],
)
def test_an_upward_import_breaks_them(tree, module, line, broken):
    inject(tree / module, line)

    result = lint_imports(tree)

    assert result.returncode == 1
    assert broken in result.stdout.replace("\n", " ")
