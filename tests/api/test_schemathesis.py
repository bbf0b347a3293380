"""schemathesis against the site's own OpenAPI schema (/api/schema/), on a live server.

Every operation, with all of schemathesis's checks (no 5xx, every status and body as the schema declares,
schema-valid input accepted and invalid input refused, authentication enforced, ...), as a signed-in
user with a token. The run is bounded (a few examples an operation, one worker) and seeded, so that CI
sees the same cases each time. tests/api/schemathesis.toml holds the documented exceptions;
tests/api/schemathesis_hooks.py gives the operations that end a token a user of their own.
"""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import caches
from rest_framework.authtoken.models import Token

from accounts.models import User
from tests.conftest import FACES_DIR
from tests.factories import DetectionFactory, RatingFactory, SongFactory, UserFactory, probabilities

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HERE = Path(__file__).parent
# Enough users of their own for every case of the three operations that end a token (see the hooks).
SPARE_USERS = 600
SEED = 20261129
MAX_EXAMPLES = 12


def prepare_data(user: User) -> None:
    """Something for the fuzzer to find: songs, a finished and a queued detection, a rating."""
    songs = SongFactory.create_batch(12)
    photo = (FACES_DIR / "happy_1.jpg").read_bytes()
    shares = probabilities(happy=0.7, neutral=0.3)
    detection = DetectionFactory(
        finished=True, user=user, shares=shares, photo=photo, box=[1, 1, 40, 40], size=(48, 48)
    )
    DetectionFactory(user=user)
    RatingFactory(user=user, song=songs[0], score=4, detection=detection, emotion="happy")


def spare_tokens() -> list[str]:
    users = User.objects.bulk_create(
        User(username=f"spare{index}", email=f"spare{index}@example.com") for index in range(SPARE_USERS)
    )
    tokens = Token.objects.bulk_create(Token(user=user, key=Token.generate_key()) for user in users)
    return [token.key for token in tokens]


def test_the_api_answers_as_its_schema_says(live_server, settings, tmp_path, caplog):
    caches["ratelimit"].clear()
    # Thousands of 4xx would each log a warning; a 5xx still logs its error.
    caplog.set_level(logging.ERROR, logger="django.request")
    # The limits stay on (their 429s are in the schema), but high enough for the sign-ups and log-ins the
    # fuzzer sends to reach the validation behind them instead of stopping at the tenth.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_address": (100_000, 3600), "login_address": (100_000, 900)}
    user = UserFactory(is_staff=True)  # staff: the catalog's writes are fuzzed too, not only their 403
    prepare_data(user)
    tokens_file = tmp_path / "spare-tokens.txt"
    tokens_file.write_text("\n".join(spare_tokens()))
    env = {
        **os.environ,
        "EMOMUSIC_FUZZ_TOKEN": Token.objects.create(user=user).key,
        "EMOMUSIC_FUZZ_SPARE_TOKENS": str(tokens_file),
        "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py"),
    }

    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{live_server.url}/api/schema/",
            "--workers",
            "1",
            "--seed",
            str(SEED),
            "--generation-deterministic",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--no-color",
            "--request-timeout",
            "30",
        ],
        # Its cache (.schemathesis/, failures to replay first) stays with this run: every run starts afresh.
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    output = run.stdout + run.stderr
    print(output)  # the summary: operations, test cases, failures
    assert run.returncode == 0, output[-20_000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert selected and tested and cases, output[-5_000:]
    assert selected[1] == selected[2] == tested[1]  # every operation of the schema
    assert cases[1] == cases[2]  # no case failed
