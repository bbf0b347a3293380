"""Run one of the browser's JavaScript modules in Node, for tests of code the pages share."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

STATIC_JS = Path(__file__).resolve().parents[2] / "static" / "js"
NODE = shutil.which("node")

needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


def run_module(module: str, expression: str, argument) -> object:
    """Evaluate `expression` in Node with static/js/<module>.js bound to `module` and the JSON `argument` to
    `argument`; return the expression's value."""
    script = (
        f"const {module} = require({json.dumps(str(STATIC_JS / f'{module}.js'))});"
        "const argument = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        f"process.stdout.write(JSON.stringify({expression}));"
    )
    done = subprocess.run(
        [NODE, "-e", script], input=json.dumps(argument), capture_output=True, text=True, check=True, timeout=30
    )
    return json.loads(done.stdout)
