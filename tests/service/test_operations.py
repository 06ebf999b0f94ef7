"""Operations: metrics, request logs and ids, client keys, the admin API, limits, secrecy."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from router import Router
from router.cache.semantic import SemanticCache
from router.config.settings import Config
from router.execution.deployments import build_providers
from router.providers.mock import MockProvider
from service.app import create_app
from service.context import key_digest
from tests.fakes import HashingEncoder

CLIENT_KEY = "sk-client-acme-0123456789"
BATCH_KEY = "sk-client-batch-9876543210"
ADMIN_KEY = "sk-admin-abcdefabcdef"
PROVIDER_KEY = "sk-provider-secret-do-not-leak"


def secured(config: Config, **service: Any) -> Config:
    raw = config.model_dump()
    raw["auth"] = {
        "enabled": True,
        "admin_key_sha256": key_digest(ADMIN_KEY),
        "keys": [
            {
                "name": "acme-app",
                "sha256": key_digest(CLIENT_KEY),
                "tenant": "acme",
                "allowed_priorities": ["critical", "standard", "low"],
            },
            {
                "name": "batch",
                "sha256": key_digest(BATCH_KEY),
                "tenant": "acme",
                "priority": "low",
                "allowed_priorities": ["low"],
                "allowed_models": ["gpt-4o-mini", "llama-3-1-8b"],
                "daily_usd": 1.0,
            },
        ],
    }
    raw["service"].update(service)
    return Config.model_validate(raw)


def make_client(config: Config) -> TestClient:
    env = {"OPENAI_API_KEY": PROVIDER_KEY}
    providers = build_providers(config, environ=env)
    providers.providers["openai"] = MockProvider("openai")  # the real key, a fake wire
    encoder = HashingEncoder()
    cache = SemanticCache(config.cache, encoder.dim)
    router = Router.from_config(config, encoder, providers, cache=cache)
    return TestClient(create_app(config, router))


@pytest.fixture
def client(config: Config) -> Iterator[TestClient]:
    with make_client(secured(config)) as c:
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


CHAT = {"model": "auto", "messages": [{"role": "user", "content": "hi how are you"}]}


def test_missing_and_unknown_keys_are_401(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", json=CHAT)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"
    r = client.post("/v1/chat/completions", json=CHAT, headers=bearer("sk-nope"))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"


def test_a_key_maps_to_its_tenant_priority_and_models(client: TestClient) -> None:
    ok = client.post("/v1/chat/completions", json=CHAT, headers=bearer(CLIENT_KEY))
    assert ok.status_code == 200
    batch = client.post("/v1/chat/completions", json=CHAT, headers=bearer(BATCH_KEY))
    assert batch.status_code == 200
    assert batch.json()["semroute"]["model"] in ("gpt-4o-mini", "llama-3-1-8b")
    denied = client.post(
        "/v1/chat/completions", json={**CHAT, "model": "gpt-4o"}, headers=bearer(BATCH_KEY)
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["type"] == "permission_error"
    critical = {**bearer(BATCH_KEY), "x-semroute-priority": "critical"}
    assert client.post("/v1/chat/completions", json=CHAT, headers=critical).status_code == 403
    route = client.post("/v1/route", json={"input": "hi"}, headers=bearer(BATCH_KEY)).json()
    assert any("not allowed for this API key" in s["reason"] for s in route["skipped"])


def test_admin_is_403_when_no_admin_key_is_configured(config: Config) -> None:
    with make_client(config) as c:  # auth off, no admin key: the embedded default
        r = c.get("/admin/state", headers=bearer(ADMIN_KEY))
        assert r.status_code == 403
        assert "admin API disabled" in r.json()["error"]["message"]


def test_admin_needs_the_admin_key(client: TestClient) -> None:
    assert client.get("/admin/state").status_code == 401
    assert client.get("/admin/state", headers=bearer(CLIENT_KEY)).status_code == 401
    state = client.get("/admin/state", headers=bearer(ADMIN_KEY)).json()
    assert state["ready"] is True
    assert state["centroids"]["version"] == "v1"
    assert state["providers"]["providers"]["openai"]["key_source"] == "env OPENAI_API_KEY"


def test_admin_actions(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    admin = bearer(ADMIN_KEY)
    with caplog.at_level(logging.INFO, logger="semroute.admin"):
        r = client.post("/admin/providers/openai/disable", headers=admin)
        assert r.json()["ok"] is True
        chat = client.post(
            "/v1/chat/completions",
            json={**CHAT, "model": "gpt-4o-mini"},
            headers=bearer(CLIENT_KEY),
        )
        assert chat.status_code == 503  # its only provider is switched off, no alternates
        client.post("/admin/providers/openai/enable", headers=admin)
        chat = client.post(
            "/v1/chat/completions",
            json={**CHAT, "model": "gpt-4o-mini"},
            headers=bearer(CLIENT_KEY),
        )
        assert chat.status_code == 200
        dep = "gpt-4o-mini@openai/gpt-4o-mini"
        assert client.post(f"/admin/breakers/{dep}/open", headers=admin).status_code == 200
        state = client.get("/admin/state", headers=admin).json()
        assert state["breakers"][dep] == "open"
        client.post(f"/admin/breakers/{dep}/auto", headers=admin)
        assert client.post("/admin/centroids/reload", headers=admin, json={}).json()["ok"]
        flush = client.post("/admin/cache/flush", headers=admin, json={"all": True})
        assert flush.status_code == 200
        assert client.post("/admin/cache/flush", headers=admin, json={}).status_code == 400
        assert client.post("/admin/providers/nope/disable", headers=admin).status_code == 404
    assert "admin: provider.disable {'provider': 'openai'}" in caplog.text
    assert "breaker.open" in caplog.text


def test_metrics_endpoint(client: TestClient) -> None:
    client.post("/v1/chat/completions", json=CHAT, headers=bearer(CLIENT_KEY))
    client.post("/v1/route", json={"input": "xylophone marmalade"}, headers=bearer(CLIENT_KEY))
    text = client.get("/metrics").text
    for name in (
        "semroute_requests_total",
        "semroute_routing_confidence_bucket",
        "semroute_routing_not_confident_total",
        'semroute_routing_decided_total{encoder="transformer"}',
        "semroute_latency_seconds_bucket",
        "semroute_tokens_total",
        "semroute_cost_usd_total",
        "semroute_cache_lookups_total",
        "semroute_breaker_state",
        "semroute_requests_in_flight",
    ):
        assert name in text, name
    assert 'stage="total"' in text
    assert 'provider="openai"' in text


def test_paths_a_client_makes_up_are_never_label_values(client: TestClient) -> None:
    for made_up in ("zz-1", "zz-2", "auto:zz"):
        assert client.get(f"/v1/models/{made_up}", headers=bearer(CLIENT_KEY)).status_code == 404
    admin = bearer(ADMIN_KEY)
    assert client.post("/admin/providers/zz-3/disable", headers=admin).status_code == 404
    text = client.get("/metrics").text
    assert "zz-" not in text and "auto:zz" not in text
    assert 'endpoint="/v1/models/{id}"' in text


def test_a_named_model_is_counted_without_a_task(client: TestClient) -> None:
    named = {**CHAT, "model": "gpt-4o-mini"}
    assert client.post("/v1/chat/completions", json=named, headers=bearer(CLIENT_KEY)).is_success
    forced = {**CHAT, "model": "auto:code"}
    assert client.post("/v1/chat/completions", json=forced, headers=bearer(CLIENT_KEY)).is_success
    text = client.get("/metrics").text
    requests = [line for line in text.splitlines() if line.startswith("semroute_requests_total")]
    assert not any('task="gpt-4o-mini"' in line for line in requests), requests
    assert any('model="gpt-4o-mini"' in line and 'task="-"' in line for line in requests)
    assert any('task="code"' in line for line in requests)


def test_request_id_is_propagated_and_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="semroute.requests"):
        r = client.post(
            "/v1/chat/completions",
            json=CHAT,
            headers={**bearer(CLIENT_KEY), "x-request-id": "req-42"},
        )
        generated = client.post("/v1/route", json={"input": "hi"}, headers=bearer(CLIENT_KEY))
    assert r.headers["x-request-id"] == "req-42"
    assert len(generated.headers["x-request-id"]) == 32
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "semroute.requests"]
    first = next(line for line in lines if "req-42" in line)
    assert '"tenant":"acme"' in first and '"status":200' in first and '"attempts"' in first
    assert "hi how are you" not in first  # prompt text only when log_prompts = true


def test_limits_are_clear_4xx(config: Config) -> None:
    with make_client(secured(config, max_messages=2, max_tokens=100)) as c:
        h = bearer(CLIENT_KEY)
        many = {**CHAT, "messages": CHAT["messages"] * 3}
        r = c.post("/v1/chat/completions", json=many, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "too_many_messages")
        r = c.post("/v1/chat/completions", json={**CHAT, "max_tokens": 101}, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "max_tokens_too_large")
        turns = [{"role": "user", "content": "hi how are you"}] * 3
        body = {"model": "auto", "max_tokens": 10, "messages": turns}
        r = c.post("/v1/messages", json=body, headers=h)
        assert r.status_code == 400 and "too many messages" in r.json()["error"]["message"]
        one = {"model": "auto", "max_tokens": 101, "messages": turns[:1]}
        r = c.post("/v1/messages", json=one, headers=h)
        assert r.status_code == 400 and "max_tokens 101" in r.json()["error"]["message"]


def test_concurrency_cap_answers_429_with_retry_after(config: Config) -> None:
    app = make_client(secured(config, max_concurrent=1))
    with app as c:
        c.app.state.semroute.in_flight = 1  # one request is already being served
        r = c.post("/v1/chat/completions", json=CHAT, headers=bearer(CLIENT_KEY))
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1"
        assert c.get("/healthz").status_code == 200  # health is never capped
        c.app.state.semroute.in_flight = 0


def test_draining_turns_readiness_off_first(client: TestClient) -> None:
    client.app.state.semroute.draining = True
    assert client.get("/readyz").status_code == 503
    assert (
        client.post("/v1/route", json={"input": "hi"}, headers=bearer(CLIENT_KEY)).status_code
        == 503
    )
    client.app.state.semroute.draining = False


def test_no_key_ever_appears_in_logs_metrics_errors_or_admin_state(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    outputs: list[str] = []
    with caplog.at_level(logging.DEBUG), make_client(secured(config)) as c:
        admin, client = bearer(ADMIN_KEY), bearer(CLIENT_KEY)
        for r in (
            c.post("/v1/chat/completions", json=CHAT, headers=client),
            c.post("/v1/chat/completions", json={**CHAT, "model": "nope"}, headers=client),
            c.post("/v1/chat/completions", json=CHAT, headers=bearer(CLIENT_KEY + "x")),
            c.post("/v1/route", json={"input": ""}, headers=client),
            c.get("/admin/state", headers=admin),
            c.get("/admin/state", headers=bearer(ADMIN_KEY + "x")),
            c.post("/admin/reload", headers=admin, json={"config": False}),
            c.get("/metrics"),
        ):
            outputs.append(r.text + str(dict(r.headers)))
    outputs.append(caplog.text)
    blob = "\n".join(outputs)
    for secret in (CLIENT_KEY, ADMIN_KEY, PROVIDER_KEY, BATCH_KEY):
        assert secret not in blob
    assert "env OPENAI_API_KEY" in blob  # where the key comes from is fine to say


def test_upstream_errors_keep_keys_out(config: Config) -> None:
    # An upstream that echoes our Authorization header back in its error body.
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": request.headers["authorization"]}})

    from router.providers.openai import OpenAIProvider

    cfg = secured(config)
    providers = build_providers(cfg, environ={"OPENAI_API_KEY": PROVIDER_KEY})
    cred = providers.credentials["openai"]
    providers.providers["openai"] = OpenAIProvider(
        "openai", "http://up/v1", cred, transport=httpx.MockTransport(echo)
    )
    router = Router.from_config(cfg, HashingEncoder(), providers)
    with TestClient(create_app(cfg, router)) as c:
        r = c.post(
            "/v1/chat/completions",
            json={**CHAT, "model": "gpt-4o-mini"},
            headers=bearer(CLIENT_KEY),
        )
    assert r.status_code == 503
    assert PROVIDER_KEY not in r.text
