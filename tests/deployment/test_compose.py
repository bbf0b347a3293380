"""compose.yaml and the Dockerfile, checked without Docker (which the project's machines cannot run).

What can be checked here: every process the compose file runs is one the
Procfile or the README's production steps name, with the Procfile's defaults;
the processes are all built from the one Dockerfile; the image installs the
same pinned requirements the virtual environment does; and every variable the
containers are given is one the README documents.
"""

import re
import shlex
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SITE_SERVICES = {"web", "worker", "beat"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


def procfile() -> dict[str, list[str]]:
    """Each Procfile process as an argument list, its ${VAR:-default} replaced by the default."""
    processes = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = shlex.split(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", command))
    return processes


def production_section() -> str:
    readme = (REPO / "README.md").read_text()
    return readme.split("## Running in production", 1)[1].split("\n## ", 1)[0]


def arguments(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_compose_runs_the_site_postgresql_redis_and_an_s3_server(compose):
    services = compose["services"]
    assert SITE_SERVICES | {"postgres", "redis", "s3"} <= set(services)
    for name in ("postgres", "redis", "s3"):
        image = services[name]["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image's version, not {image!r}"
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name], name


def test_every_site_process_is_built_from_the_one_dockerfile(compose):
    built = {name: service for name, service in compose["services"].items() if "build" in service}
    assert set(built) == SITE_SERVICES | {"release"}
    for name, service in built.items():
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
    assert (REPO / "Dockerfile").is_file()


def test_each_site_process_runs_its_procfile_command(compose):
    processes = procfile()
    for name in SITE_SERVICES:
        assert arguments(compose["services"][name]["command"]) == processes[name], name


def test_the_release_step_runs_the_readmes_once_per_release_commands(compose):
    command = compose["services"]["release"]["command"]
    steps = re.findall(r"python manage\.py ([\w-]+)", command)
    assert steps[:1] == ["migrate"], "migrate first: every other step needs the tables"
    section = production_section()
    for step in steps:
        assert f"manage.py {step}" in section, f"the README's production steps do not mention manage.py {step}"
    for name in SITE_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["release"] == {"condition": "service_completed_successfully"}, name


def test_the_dockerfile_installs_the_same_pinned_requirements_as_the_venv():
    dockerfile = (REPO / "Dockerfile").read_text()
    installs = re.findall(r"pip install ([^\n\\]+)", dockerfile)
    assert installs == ["-r requirements.txt"], f"the image must install exactly requirements.txt, not {installs}"
    assert re.search(r"^COPY requirements\.txt ", dockerfile, re.MULTILINE)
    # The venv (`make setup`) installs requirements-dev.txt, which is requirements.txt plus test and lint tools.
    assert "pip install -r requirements-dev.txt" in (REPO / "Makefile").read_text()
    dev = [line for line in (REPO / "requirements-dev.txt").read_text().splitlines() if line and line[0] != "#"]
    assert dev[0] == "-r requirements.txt"
    runtime = [line for line in (REPO / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    assert all("==" in line for line in runtime), "every runtime requirement is pinned"
    python = re.search(r"^FROM python:(\d+\.\d+)", dockerfile, re.MULTILINE).group(1)
    assert f'requires-python = ">={python}' in (REPO / "pyproject.toml").read_text()


def test_the_images_default_command_is_the_procfiles_web_process():
    dockerfile = (REPO / "Dockerfile").read_text()
    command = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1)
    assert yaml.safe_load(command) == procfile()["web"]


def test_every_variable_given_to_the_containers_is_documented(compose):
    environment = compose["x-emomusic"]["environment"]
    readme = (REPO / "README.md").read_text()
    undocumented = [name for name in environment if f"`{name}`" not in readme]
    assert undocumented == []
