"""The load test's user journey, for Locust (`make bench-load` runs it against a production-like stack).

Each simulated listener signs up once, then, again and again: uploads a face
photo, polls the detection until the worker has finished it (as the site's
result page does: after 1 s, then each wait half as long again, up to 5 s;
static/js/detection.js), asks for recommendations, rates the first song and
asks again. Against a running site:

    .venv/bin/locust -f locustfile.py --host https://emomusic.example.com

With EMOMUSIC_STEADY_SECONDS=60 (as `make bench-load` sets it) the run ends
60 s after the last user has signed up, whatever --run-time says: sign-up
hashes the password on purpose slowly, and on a small machine a crowd of
sign-ups would otherwise fill the whole run.

Besides Locust's per-endpoint statistics, one more row, "upload → done"
(request type DETECTION), times each photo from the upload's answer to the
poll that saw it finished; a photo still pending after POLL_TIMEOUT_SECONDS
is reported there as a failure ("lost"). Requests Locust does not expect
(any status other than the contract's) are failures too.
"""

import itertools
import os
import secrets
import time
from pathlib import Path

import gevent
from locust import constant_pacing, task
from locust.contrib.fasthttp import FastHttpUser
from urllib3 import encode_multipart_formdata

FACES = sorted((Path(__file__).resolve().parent / "tests" / "fixtures" / "faces").glob("*.jpg"))
PHOTOS = [(path.name, path.read_bytes()) for path in FACES]
TERMINAL = {"done", "no_face", "failed"}
# The result page's polling (static/js/detection.js): the first after 1 s, each wait 1.5 times the last, at most 5 s.
POLL_FIRST_SECONDS = 1.0
POLL_GROWTH = 1.5
POLL_MOST_SECONDS = 5.0
POLL_TIMEOUT_SECONDS = float(os.environ.get("EMOMUSIC_POLL_TIMEOUT", "180"))
STEADY_SECONDS = float(os.environ.get("EMOMUSIC_STEADY_SECONDS", "0"))
_photo_numbers = itertools.count()
_signed_up = itertools.count(1)


def _user_ready(environment) -> None:
    """Count a finished sign-up; after the last one, end the run STEADY_SECONDS later."""
    runner = environment.runner
    if next(_signed_up) == runner.target_user_count and STEADY_SECONDS:
        print(f"all {runner.target_user_count} users signed up; {STEADY_SECONDS:.0f} s more", flush=True)
        gevent.spawn_later(STEADY_SECONDS, runner.quit)


def _fail(response) -> None:
    """Mark an unexpected answer failed, saying what came back (status 0: no answer at all, and why)."""
    if response.status_code == 0:
        response.failure(f"no response: {response.error!r}")
    else:
        response.failure(f"HTTP {response.status_code}: {response.text[:200]}")


class Listener(FastHttpUser):
    # FastHttpUser (geventhttpclient) rather than HttpUser (requests): the load generator shares the machine's
    # cores with the site, and it spends a fraction of the CPU a request.
    # One journey every 7 s at most: under the site's 10 uploads a minute per user, which stays on.
    wait_time = constant_pacing(7)

    def on_start(self) -> None:
        self.headers: dict[str, str] = {}
        account = self._call(
            "POST",
            "/api/auth/signup/",
            expect=(201,),
            json={"username": f"load-{secrets.token_hex(6)}", "password": secrets.token_urlsafe(18)},
        )
        if account is not None:
            self.headers = {"Authorization": f"Token {account['token']}"}
        _user_ready(self.environment)

    @task
    def journey(self) -> None:
        if not self.headers:
            return
        name, content = PHOTOS[next(_photo_numbers) % len(PHOTOS)]
        body, content_type = encode_multipart_formdata({"image": (name, content, "image/jpeg")})
        detection = self._call(
            "POST", "/api/detections/", expect=(202,), data=body, extra_headers={"Content-Type": content_type}
        )
        if detection is None:
            return
        status = self._poll(detection["id"])
        if status is None:
            return
        query = f"detection={detection['id']}" if status == "done" else "emotion=neutral"
        songs = self._recommendations(query)
        if not songs:
            return
        rating = {"song": songs[0], "score": 5, **({"detection": detection["id"]} if status == "done" else {})}
        self._call("POST", "/api/ratings/", expect=(200, 201), json=rating)
        self._recommendations(query)

    def _call(
        self,
        method: str,
        url: str,
        *,
        expect: tuple[int, ...],
        name: str = "",
        extra_headers: dict[str, str] | None = None,
        **kwargs,
    ) -> dict | None:
        """The answer's JSON body when its status is one of `expect`; else None, the request counted as failed.

        Locust's statistics name the request "METHOD name" (`name` defaults to the URL).
        """
        headers = {**self.headers, **(extra_headers or {})}
        with self.client.request(
            method, url, headers=headers, name=f"{method} {name or url}", catch_response=True, **kwargs
        ) as response:
            if response.status_code not in expect:
                _fail(response)
                return None
            return response.json()

    def _poll(self, detection_id: int) -> str | None:
        """The detection's final status, timing upload → done; None if it failed or never finished."""
        uploaded = time.perf_counter()
        delay = POLL_FIRST_SECONDS
        while time.perf_counter() - uploaded < POLL_TIMEOUT_SECONDS:
            time.sleep(delay)
            delay = min(delay * POLL_GROWTH, POLL_MOST_SECONDS)
            detection = self._call(
                "GET", f"/api/detections/{detection_id}/", name="/api/detections/{id}/", expect=(200,)
            )
            if detection is not None and detection["status"] in TERMINAL:
                self._report_detection(uploaded, exception=None)
                return detection["status"]
        self._report_detection(uploaded, exception=RuntimeError(f"lost: detection {detection_id} still pending"))
        return None

    def _report_detection(self, uploaded: float, *, exception: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="DETECTION",
            name="upload → done",
            response_time=(time.perf_counter() - uploaded) * 1000,
            response_length=0,
            exception=exception,
            context={},
        )

    def _recommendations(self, query: str) -> list[int]:
        page = self._call("GET", f"/api/recommendations/?{query}&limit=10", name="/api/recommendations/", expect=(200,))
        return [item["song"]["id"] for item in page["results"]] if page is not None else []
