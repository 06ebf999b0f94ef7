"""schemathesis against the app's own OpenAPI: no 5xx, and every response matches the schema.

Bounded (a fixed number of examples per operation, derandomised) so CI stays quick."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from router import Router
from router.cache.semantic import SemanticCache
from router.execution.deployments import build_providers
from service.app import create_app
from tests.conftest import make_test_config, write_test_centroids
from tests.fakes import HashingEncoder


def _app() -> Any:
    encoder = HashingEncoder()
    root = Path(tempfile.mkdtemp(prefix="semroute-fuzz-"))
    config = make_test_config(write_test_centroids(root / "centroids", encoder))
    router = Router.from_config(
        config,
        encoder,
        build_providers(config, environ={}),
        cache=SemanticCache(config.cache, encoder.dim),
    )
    return create_app(config, router)


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms(case: Any) -> None:
    # Every other check runs. Schema-valid bodies may still be refused with a 4xx for rules a
    # JSON schema cannot say (e.g. "at least one message has text").
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])
