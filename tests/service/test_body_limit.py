"""The body limit on a real server: an oversized body is a 413 with the API's error body that
the client can read (the rest of the upload is drained first, so no connection reset), and an
upload that never ends is cut off by the drain's caps, never a hang."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from starlette.types import Receive, Scope, Send

from service.limits import BodyLimit
from tests.service.api_stack import ApiStack, api_stack
from tests.serving import serve

LIMIT = 64 * 1024
TRIES = 20
# 2x and 10x fit in loopback's socket buffers, so a reset rarely costs the 413 there; at 100x
# the client is still uploading when the server answers, and without the drain a quarter or
# so of those uploads ended in "peer closed connection" instead of the 413.
TIMES = [2, 10, 100]


def small_limit(raw: dict[str, Any]) -> None:
    raw["service"]["max_body_bytes"] = LIMIT


@pytest.fixture
def stack(centroid_dir: Path) -> Iterator[ApiStack]:
    with api_stack(centroid_dir, small_limit) as s:
        yield s


def is_413(resp: httpx.Response, path: str) -> bool:
    if resp.status_code != 413 or resp.headers.get("connection") != "close":
        return False
    body = resp.json()
    if path == "/v1/messages":
        return bool(body["type"] == "error" and body["error"]["type"] == "request_too_large")
    return bool(body["error"]["code"] == "request_too_large")


def chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """A body of ``total`` bytes sent chunked (no Content-Length): rejected while reading."""
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_oversized_body_is_always_a_readable_413(
    stack: ApiStack, path: str, times: int, declared: bool
) -> None:
    failures: list[str] = []
    with httpx.Client(base_url=stack.url, timeout=20) as client:
        for _ in range(TRIES):
            content: bytes | Iterator[bytes] = (
                b"x" * (times * LIMIT) if declared else chunks(times * LIMIT)
            )
            try:
                resp = client.post(path, content=content)
            except httpx.TransportError as exc:
                failures.append(repr(exc))
                continue
            if not is_413(resp, path):
                failures.append(f"{resp.status_code} {resp.text[:200]}")
    assert not failures, f"{len(failures)}/{TRIES} not a readable 413: {failures[:3]}"


@pytest.mark.parametrize("times", TIMES)
def test_the_openai_sdk_sees_the_413_not_a_connection_error(stack: ApiStack, times: int) -> None:
    client = stack.openai()  # max_retries=0: a reset would be an APIConnectionError
    messages: list[Any] = [{"role": "user", "content": "x" * (times * LIMIT)}]
    failures: list[str] = []
    for _ in range(TRIES):
        try:
            client.chat.completions.create(model="alpha", messages=messages)
        except openai.APIStatusError as exc:
            if exc.status_code != 413 or exc.code != "request_too_large":
                failures.append(f"{exc.status_code} {exc.code}")
        except openai.APIConnectionError as exc:
            failures.append(repr(exc.__cause__))
        else:
            failures.append("served")
    assert not failures, f"{len(failures)}/{TRIES} not a 413: {failures[:3]}"


def test_a_body_within_the_limit_is_served(stack: ApiStack) -> None:
    text = "hello " * ((LIMIT - 1024) // 6)
    answer = stack.openai().chat.completions.create(
        model="alpha", messages=[{"role": "user", "content": text}]
    )
    assert answer.choices[0].message.content == "Hello from primary"


class Upload:
    """A chunked upload of up to ``chunks`` chunks; ``exhausted`` says it sent them all."""

    def __init__(self, chunks: int, size: int, pause_s: float = 0.0) -> None:
        self.chunks, self.size, self.pause_s = chunks, size, pause_s
        self.sent = 0
        self.exhausted = False

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.chunks):
            if self.pause_s:
                time.sleep(self.pause_s)
            self.sent += self.size
            yield b"x" * self.size
        self.exhausted = True


def ended_by_server(url: str, upload: Upload) -> None:
    """POST ``upload``: a 413, or a connection the server closed, before the upload ran out."""
    try:
        resp = httpx.post(url + "/v1/chat/completions", content=upload, timeout=60)
    except httpx.TransportError:
        pass  # past a cap the server closes with the upload still coming: a reset is allowed
    else:
        assert is_413(resp, "/v1/chat/completions"), resp.text
    assert not upload.exhausted, f"the server read all {upload.sent} bytes"


async def unreachable(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("an oversized body reached the app")


def test_the_byte_cap_ends_an_upload_that_never_stops() -> None:
    app = BodyLimit(unreachable, max_bytes=LIMIT, drain_bytes=1024 * 1024, drain_s=600)
    upload = Upload(chunks=16 * 1024, size=64 * 1024)  # 1 GiB, as fast as loopback goes
    with serve(app) as url:
        ended_by_server(url, upload)
    assert upload.sent < 256 * 1024 * 1024  # the cap plus what the socket buffers hold


def test_the_time_cap_ends_a_slow_upload_that_never_stops() -> None:
    app = BodyLimit(unreachable, max_bytes=LIMIT, drain_bytes=2**40, drain_s=0.5)
    upload = Upload(chunks=2000, size=16 * 1024, pause_s=0.01)  # ~20 s if nobody stops it
    with serve(app) as url:
        ended_by_server(url, upload)


def test_the_default_caps_end_an_endless_upload_to_semroute(stack: ApiStack) -> None:
    ended_by_server(stack.url, Upload(chunks=64 * 1024, size=64 * 1024))  # 4 GiB
