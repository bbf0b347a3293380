"""The three requirements files: what the site's processes install, and what only training and the tests need.

requirements.txt is what the web, worker and beat processes import (the Dockerfile installs it alone);
requirements-ml.txt adds training's packages to it, requirements-dev.txt the test and lint tools to that.
The site's code (the apps, emomusic_site and ml/runtime) must import nothing that only the larger sets install.
"""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITE_PACKAGES = ("accounts", "catalog", "detection", "recommendations", "insights", "emomusic_site", "ml/runtime")
# Heavy, and never run by the site: the worker runs the shipped net with LiteRT.
TRAINING_ONLY = {"tensorflow-cpu", "keras", "matplotlib", "scipy"}


def lines(name: str) -> list[str]:
    """The file's requirement lines, less comments and blank lines."""
    text = (REPO / name).read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def project(requirement: str) -> str:
    """`celery[redis]==5.7.0` -> `celery`, normalised as PyPI compares names."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>!~; ]", requirement, maxsplit=1)[0]).lower()


def projects(name: str) -> set[str]:
    return {project(line) for line in lines(name) if not line.startswith("-")}


def site_imports() -> dict[str, set[str]]:
    """Each top-level module the site's code imports from outside the repository, with the files importing it."""
    first_party = {path.name for path in REPO.iterdir() if (path / "__init__.py").is_file()}
    found: dict[str, set[str]] = {}
    for package in SITE_PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top not in first_party and top not in sys.stdlib_module_names:
                        found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_each_set_builds_on_the_one_below():
    assert lines("requirements-ml.txt")[0] == "-r requirements.txt"
    assert lines("requirements-dev.txt")[0] == "-r requirements-ml.txt"
    assert not [line for line in lines("requirements.txt") if line.startswith("-")]


def test_every_requirement_is_pinned_and_listed_once():
    listed = []
    for name in ("requirements.txt", "requirements-ml.txt", "requirements-dev.txt"):
        for line in lines(name):
            if not line.startswith("-"):
                assert re.search(r"==\S+$", line), f"{name}: pin {line!r}"
                listed.append(project(line))
    assert len(listed) == len(set(listed)), "a project is pinned in two files"


def test_the_sites_set_leaves_training_out():
    assert projects("requirements.txt").isdisjoint(TRAINING_ONLY)
    assert TRAINING_ONLY.issubset(projects("requirements-ml.txt"))


def test_the_site_imports_nothing_that_only_training_or_the_tests_install():
    distributions = packages_distributions()
    larger_sets = projects("requirements-ml.txt") | projects("requirements-dev.txt")
    offending = {
        module: sorted(files)
        for module, files in site_imports().items()
        if {project(name) for name in distributions.get(module, [])} & larger_sets
    }
    assert offending == {}, "import these only from ml/training or the tests, or move the pin to requirements.txt"
