"""The error tree → HTTP: one table, read through the MRO; every class has its own row."""

from __future__ import annotations

import inspect
from pathlib import Path

import httpx
import pytest

from router import Router
from router import errors as e
from router.config import Config
from router.execution.deployments import build_providers
from service.app import create_app
from service.errors import ERROR_STATUS, error_body, router_error_response, status_for
from service.wiring import build_spending
from tests.conftest import make_test_config, write_test_centroids
from tests.fakes import HashingEncoder
from tests.redis_server import free_port
from tests.serving import serve

TREE = [
    cls
    for _, cls in inspect.getmembers(e, inspect.isclass)
    if issubclass(cls, e.RouterError) and cls.__module__ == e.__name__
]


def test_every_error_class_has_its_own_status() -> None:
    assert len(TREE) > 20
    assert {cls.__name__ for cls in TREE} - {cls.__name__ for cls in ERROR_STATUS} == set()


def test_the_most_specific_class_in_the_mro_wins() -> None:
    class SlowerTimeout(e.Timeout):
        pass

    assert status_for(SlowerTimeout("slow", provider="p", model="m")) == 504
    assert status_for(e.BudgetUnavailable("down")) == 503
    assert status_for(e.BudgetExhausted("spent")) == 429
    assert status_for(e.InvalidRequest("no", code="model_not_found")) == 404


def test_budget_unavailable_is_503_budget_unavailable() -> None:
    response = router_error_response(e.BudgetUnavailable("budget ledger (Redis) unavailable"))
    assert response.status_code == 503
    assert b'"code":"budget_unavailable"' in response.body
    assert b'"type":"api_error"' in response.body


@pytest.mark.parametrize(
    ("status", "type_"),
    [(400, "invalid_request_error"), (429, "rate_limit_error"), (503, "api_error")],
)
def test_the_body_type_follows_the_status(status: int, type_: str) -> None:
    assert error_body(status, "m", "c")["error"] == {
        "message": "m",
        "type": type_,
        "param": None,
        "code": "c",
    }


def test_redis_down_and_fail_closed_answers_503_without_the_address(tmp_path: Path) -> None:
    encoder = HashingEncoder()
    write_test_centroids(tmp_path / "centroids", encoder)
    raw = make_test_config(tmp_path / "centroids").model_dump()
    port = free_port()
    raw["redis"].update(url=f"redis://127.0.0.1:{port}/0", fail_mode="closed", socket_timeout_s=0.2)
    raw["budget"]["daily_usd"] = 1.0
    config = Config.model_validate(raw)
    router = Router.from_config(
        config, encoder, build_providers(config, environ={}), spending=build_spending(config)
    )
    with serve(create_app(config, router)) as url:
        response = httpx.post(
            url + "/v1/chat/completions",
            timeout=30,
            json={"model": "auto", "messages": [{"role": "user", "content": "hello there"}]},
        )
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "budget_unavailable"
    assert str(port) not in error["message"]
    assert "127.0.0.1" not in error["message"]
