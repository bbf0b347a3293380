"""Authentication for the schemathesis run (tests/api/test_schemathesis.py), loaded by `schemathesis run`.

Every request carries the token of one prepared user, except the three operations that end it: deleting the
account, revoking the token and changing the password. Each case of those gets a user of its own (tokens the
test prepared, one a case), so they never log the rest of the run out.
"""

import os
from pathlib import Path

import schemathesis

ENDS_THE_TOKEN = [("DELETE", "/api/me/"), ("DELETE", "/api/auth/token/"), ("POST", "/api/auth/password/")]


def _set_token(case, token: str) -> None:
    case.headers = case.headers or {}
    case.headers["Authorization"] = f"Token {token}"


def _ends_the_token(context) -> bool:
    return (context.operation.method.upper(), context.operation.path) in ENDS_THE_TOKEN


@schemathesis.auth(refresh_interval=None).apply_to(lambda context: _ends_the_token(context))
class FreshUserToken:
    """A new user's token for each case (refresh_interval=None: asked again every time)."""

    def __init__(self) -> None:
        self.tokens = Path(os.environ["EMOMUSIC_FUZZ_SPARE_TOKENS"]).read_text().split()

    def get(self, case, context) -> str:
        if not self.tokens:
            raise RuntimeError("the test prepared too few spare users for the operations that end a token")
        return self.tokens.pop()

    def set(self, case, data: str, context) -> None:
        _set_token(case, data)


@schemathesis.auth().skip_for(lambda context: _ends_the_token(context))
class FuzzUserToken:
    def get(self, case, context) -> str:
        return os.environ["EMOMUSIC_FUZZ_TOKEN"]

    def set(self, case, data: str, context) -> None:
        _set_token(case, data)
