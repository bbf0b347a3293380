"""The product's files describe the product: no story of how the work went, no paths of a build machine.

The README stays a front door (details live in docs/), reports/ holds what a reader needs rather than run logs,
and every relative link in the README and docs/ leads to a file that exists.
"""

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("README.md", "Makefile", "ml", "reports", "docs")
TEXT_SUFFIXES = {".md", ".py", ".json", ".txt", ".csv", ".yaml", ".yml", ".toml", ""}
NARRATION = re.compile(r"\bsessions? \d|\bthis session\b|\blent (an? )?(h100|h200|gpu|machine)", re.IGNORECASE)
# An absolute path of the machine a file was made on: a JSON value or a word starting at a home, temp or
# workspace folder (a URL's path, such as https://example.com/tmp/x, is not one).
MACHINE_PATH = re.compile(r"(?<![\w.:/-])/(root|home|tmp|work|Users)/[\w.-]+")
README_MAX_LINES = 250
REPORTS_MAX_FILES = 40
# A Markdown link or image: [text](target) or ![alt](target), the target up to a space or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


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


def test_the_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move details to docs/"


def reports_files() -> list[str]:
    """The files under reports/ that git keeps or would add: tracked and untracked, less the ignored ones."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "reports"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:  # not a git checkout (an unpacked archive): every file there counts
        return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "reports").rglob("*") if p.is_file())
    return sorted(name for name in listed.stdout.splitlines() if (ROOT / name).is_file())


def test_reports_hold_what_a_reader_needs_not_run_logs():
    files = reports_files()
    assert len(files) <= REPORTS_MAX_FILES, f"reports/ holds {len(files)} files; run logs belong under runs/"
    assert [name for name in files if name.startswith(("reports/runs/", "reports/ensembles/"))] == []


def link_targets(text: str) -> list[str]:
    """The relative targets of a Markdown text's links, without their #fragment; code spans and blocks are skipped."""
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    targets = []
    for target in LINK.findall(prose):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith(("#", "/")):
            continue  # a URL, a mailto:, an anchor in the same page, or a path on the site
        targets.append(unquote(target.split("#", 1)[0]))
    return targets


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", documents(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_that_exists(document):
    broken = [target for target in link_targets(document.read_text()) if not (document.parent / target).exists()]
    assert broken == []


def test_the_link_check_reads_links_as_markdown_does():
    text = (
        "[ops](docs/operations.md#failures) and ![chart](reports/comparison.png) and [site](https://example.com/x)"
        " and [top](#quick-start) and `[not](a/link.md)` and [page](/api/docs/)\n```\n[nor](this.md)\n```"
    )
    assert link_targets(text) == ["docs/operations.md", "reports/comparison.png"]
