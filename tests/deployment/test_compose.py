"""compose.yaml and the Dockerfile, checked without Docker (`make test-compose` runs them: test_compose_up.py).

What is checked here, on every machine: every process the compose file runs is one the
Procfile or the production steps of docs/operations.md name, with the Procfile's defaults;
the processes are all built from the one Dockerfile; the image installs the
pinned requirements.txt the virtual environment holds; and every variable the
containers are given is one docs/operations.md documents.
"""

import re
import shlex
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = REPO / "docs" / "operations.md"
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
    operations = OPERATIONS.read_text()
    return operations.split("## Running in production", 1)[1].split("\n## ", 1)[0]


def arguments(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_compose_runs_the_site_postgresql_redis_and_an_s3_server(compose):
    services = compose["services"]
    assert SITE_SERVICES | {"postgres", "redis", "s3"} <= set(services)
    for name in ("postgres", "redis", "s3"):
        # ${POSTGRES_IMAGE:-emomusic-postgres:15}: a deploy/ image by default, a registry's when the variable says so.
        variable, default = re.fullmatch(r"\$\{(\w+_IMAGE):-([^}]+)\}", services[name]["image"]).groups()
        assert ":" in default and not default.endswith(":latest"), f"{name}: pin the image's version, not {default!r}"
        assert re.search(rf"`{variable}[`=]", OPERATIONS.read_text()), (
            f"docs/operations.md does not document {variable}"
        )
        dockerfile = REPO / "deploy" / f"{default.split(':')[0].removeprefix('emomusic-')}.Dockerfile"
        assert dockerfile.is_file(), f"{name}: {default} has no {dockerfile.relative_to(REPO)}"
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name], name


def test_every_site_process_is_built_from_the_one_dockerfile(compose):
    built = {name: service for name, service in compose["services"].items() if "build" in service}
    assert set(built) == SITE_SERVICES | {"release"}
    for name, service in built.items():
        assert service["build"] == {
            "context": ".",
            "dockerfile": "Dockerfile",
            "args": {"BASE_IMAGE": "${BASE_IMAGE:-python:3.11-slim-bookworm}"},
        }, name
    assert (REPO / "Dockerfile").is_file()


def test_each_site_process_runs_its_procfile_command(compose):
    processes = procfile()
    for name in SITE_SERVICES:
        assert arguments(compose["services"][name]["command"]) == processes[name], name


def test_the_release_step_runs_the_documented_once_per_release_commands(compose):
    command = compose["services"]["release"]["command"]
    steps = re.findall(r"python manage\.py ([\w-]+)", command)
    assert steps[:1] == ["migrate"], "migrate first: every other step needs the tables"
    section = production_section()
    for step in steps:
        assert f"manage.py {step}" in section, f"the production steps do not mention manage.py {step}"
    for name in SITE_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["release"] == {"condition": "service_completed_successfully"}, name


def test_the_dockerfile_installs_the_same_pinned_requirements_as_the_venv():
    dockerfile = (REPO / "Dockerfile").read_text()
    installs = re.findall(r"pip install ([^\n\\]+)", dockerfile)
    assert installs == ["-r requirements.txt"], f"the image must install exactly requirements.txt, not {installs}"
    assert re.search(r"^COPY requirements\.txt ", dockerfile, re.MULTILINE)
    # The venv (`make setup`) installs requirements-dev.txt: requirements.txt, training's packages
    # (requirements-ml.txt) and the test tools (tests/deployment/test_requirements.py checks the chain).
    assert "pip install -r requirements-dev.txt" in (REPO / "Makefile").read_text()
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.MULTILINE).group(1)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", dockerfile, re.MULTILINE)
    python = re.fullmatch(r"python:(\d+\.\d+)-slim-bookworm", base).group(1)
    assert f'requires-python = ">={python}' in (REPO / "pyproject.toml").read_text()


def test_the_images_default_command_is_the_procfiles_web_process():
    dockerfile = (REPO / "Dockerfile").read_text()
    command = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1)
    assert yaml.safe_load(command) == procfile()["web"]


def test_only_the_web_port_is_published_on_the_loopback_and_the_backend_has_no_way_out(compose):
    services = compose["services"]
    published = {name: service["ports"] for name, service in services.items() if "ports" in service}
    assert published == {"web": ["127.0.0.1:${WEB_PORT:-8000}:8000"]}
    assert compose["networks"]["backend"] == {"internal": True}
    front = compose["networks"]["front"]["driver_opts"]
    assert front == {"com.docker.network.bridge.enable_ip_masquerade": "false"}
    for name, service in services.items():
        assert service["networks"] == (["backend", "front"] if name == "web" else ["backend"]), name


def test_every_variable_given_to_the_containers_is_documented(compose):
    environment = compose["x-emomusic"]["environment"]
    operations = OPERATIONS.read_text()
    undocumented = [name for name in environment if f"`{name}`" not in operations]
    assert undocumented == []
