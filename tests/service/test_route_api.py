"""/v1/route, /healthz, /readyz over HTTP (in-process ASGI), including every kind of bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router import Router
from router.config.settings import Config
from service.app import create_app


@pytest.fixture
def client(config: Config, router: Router) -> Iterator[TestClient]:
    with TestClient(create_app(config, router)) as c:
        yield c


def assert_openai_error(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    err = body["error"]
    assert set(err) >= {"message", "type", "code"}
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code
    return err


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["centroid_version"] == "v1"


def test_route_plain_input(client: TestClient) -> None:
    r = client.post("/v1/route", json={"input": "write a python function for this bug"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["task"] == "code" and body["confident"] is True and body["route"] == "code"
    assert body["centroid_version"] == "v1"
    assert set(body["scores"]) == {
        "code",
        "math",
        "creative",
        "analysis",
        "chat",
        "lookup",
        "summarize",
        "extract",
    }
    assert body["candidates"] and all(c["reason"] for c in body["candidates"])
    assert body["truncated"] is False


def test_route_chat_body_with_needs_and_priority(client: TestClient) -> None:
    r = client.post(
        "/v1/route",
        json={
            "model": "auto",
            "priority": "cost",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": [{"type": "text", "text": "hi how are you"}]},
            ],
            "response_format": {"type": "json_object"},
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
            "temperature": 0.2,
            "n": 1,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["task"] == "chat" and body["priority"] == "cost"
    assert "llama-3-1-8b" in [s["model"] for s in body["skipped"]]  # lacks tools


def test_explicit_task_and_model(client: TestClient) -> None:
    body = client.post("/v1/route", json={"input": "x", "model": "auto:math"}).json()
    assert body["task"] is None and body["route"] == "math"
    body = client.post("/v1/route", json={"input": "x", "model": "gpt-4o"}).json()
    assert [c["model"] for c in body["candidates"]] == ["gpt-4o"]


def test_long_text_is_truncated_on_purpose(client: TestClient) -> None:
    r = client.post("/v1/route", json={"input": "summarize this " + "word " * 40_000})
    assert r.status_code == 200 and r.json()["truncated"] is True


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({}, None),
        ({"input": ""}, None),
        ({"input": "   \n\t "}, None),
        ({"input": "hi", "messages": [{"role": "user", "content": "hi"}]}, None),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "  "}]}, "messages"),
        ({"input": 5}, "input"),
        ({"input": ["a"]}, "input"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages.0.role"),
        ({"messages": [{"content": "hi"}]}, "messages.0.role"),
        ({"input": "hi", "priority": "fastest"}, "priority"),
        ({"input": "hi", "max_tokens": -3}, "max_tokens"),
        ({"input": "hi", "temperature": "hot"}, "temperature"),
        ({"input": "hi", "model": ""}, "model"),
        ([1, 2, 3], None),
        ("just a string", None),
        (None, None),
    ],
)
def test_bad_bodies_are_400_with_openai_errors(
    client: TestClient, payload: Any, param: str | None
) -> None:
    err = assert_openai_error(client.post("/v1/route", json=payload), 400)
    assert err["type"] == "invalid_request_error"
    if param is not None:
        assert err["param"] == param


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"input": "hi"', b"", b"\xff\xfe\x00garbage", b'{"input": "caf\xe9"}'],
)
def test_malformed_json_and_invalid_utf8(client: TestClient, raw: bytes) -> None:
    r = client.post("/v1/route", content=raw, headers={"content-type": "application/json"})
    assert_openai_error(r, 400)


def test_one_megabyte_is_refused_before_parsing(client: TestClient) -> None:
    big = '{"input": "' + "a" * 1_000_000 + '"}'
    assert_openai_error(client.post("/v1/route", content=big), 413, "request_too_large")


def test_unknown_model_is_404(client: TestClient) -> None:
    err = assert_openai_error(
        client.post("/v1/route", json={"input": "hi", "model": "gpt-99"}), 404, "model_not_found"
    )
    assert err["param"] == "model"


def test_impossible_requirements_name_what_was_required(client: TestClient) -> None:
    payload = {
        "messages": [{"role": "user", "content": "hi how are you"}],
        "model": "llama-3-1-8b",
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    r = client.post("/v1/route", json=payload)
    # llama-3-1-8b lacks tools, so the catalogue is searched: a capable model is offered.
    assert r.status_code == 200 and r.json()["candidates"][0]["model"] != "llama-3-1-8b"
    payload["messages"][0]["content"] = "x " * 600_000  # type: ignore[index]
    r = client.post("/v1/route", json=payload)
    assert_openai_error(r, 413)


def test_unknown_paths_and_methods_use_openai_errors(client: TestClient) -> None:
    assert_openai_error(client.get("/v1/nothing"), 404)
    assert_openai_error(client.get("/v1/route"), 405)


def test_openapi_documents_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/route" in spec["paths"] and "/readyz" in spec["paths"]


def test_not_ready_until_loaded_and_load_errors_are_reported(
    config: Config, tmp_path: Path
) -> None:
    broken = config.model_copy(
        update={"routing": config.routing.model_copy(update={"centroids_dir": tmp_path})}
    )
    with TestClient(create_app(broken)) as c:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r = c.get("/readyz")
            if "CURRENT" in r.text:
                break
            time.sleep(0.2)
        err = assert_openai_error(r, 503, "not_ready")
        assert "CURRENT" in err["message"]
        assert_openai_error(c.post("/v1/route", json={"input": "hi"}), 503, "not_ready")
        assert c.get("/healthz").status_code == 200
