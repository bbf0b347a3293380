"""The product's files describe the product: no story of how the work went, no paths of a build machine."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("README.md", "Makefile", "ml", "reports", "docs")
TEXT_SUFFIXES = {".md", ".py", ".json", ".txt", ".csv", ".yaml", ".yml", ".toml", ""}
NARRATION = re.compile(r"\bsessions? \d|\bthis session\b|\blent (an? )?(h100|h200|gpu|machine)", re.IGNORECASE)
# An absolute path of the machine a file was made on: a JSON value or a word starting at a home, temp or
# workspace folder (a URL's path, such as https://example.com/tmp/x, is not one).
MACHINE_PATH = re.compile(r"(?<![\w.:/-])/(root|home|tmp|work|Users)/[\w.-]+")


def checked_files() -> list[Path]:
    files = []
    for name in CHECKED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES)
    return sorted(files)


def offending_lines(pattern: re.Pattern, files: list[Path]) -> list[str]:
    found = []
    for path in files:
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    return found


def test_the_checked_files_exist():
    assert {p.relative_to(ROOT).parts[0] for p in checked_files()} >= {"README.md", "Makefile", "ml", "reports"}


@pytest.mark.parametrize(("pattern", "what"), [(NARRATION, "narrates the work"), (MACHINE_PATH, "a machine's path")])
def test_the_product_files_describe_the_product(pattern, what):
    assert offending_lines(pattern, checked_files()) == [], what


@pytest.mark.parametrize(
    "line",
    [
        "Session 8 had one NVIDIA H100",
        "trained on a lent H100",
        "in this session",
        '"data": "/work/shared/x"',
        "--init-from /root/emomusic-runs/base5.keras",
        "see /tmp/interim2.keras",
    ],
)
def test_the_patterns_catch_what_they_are_for(line):
    assert NARRATION.search(line) or MACHINE_PATH.search(line)


@pytest.mark.parametrize(
    "line", ["trained 40 epochs on one GPU", "https://example.com/tmp/x", "runs/vggnet32-c/model.keras", "$FER_DATA"]
)
def test_the_patterns_leave_product_wording_alone(line):
    assert not (NARRATION.search(line) or MACHINE_PATH.search(line))
