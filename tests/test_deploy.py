"""The Dockerfile and deploy/compose.yaml, checked without a container runtime
(deploy/check_image.py; no Docker engine runs where the tests do)."""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_image", ROOT / "deploy/check_image.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


@pytest.fixture(scope="module")
def ignored() -> list[str]:
    return (ROOT / ".dockerignore").read_text().split()


@pytest.fixture
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
    return loaded


def test_the_dockerfile_passes(checker: ModuleType, dockerfile: str, ignored: list[str]) -> None:
    assert checker.check_dockerfile(dockerfile, ignored) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("USER semroute\n", "", "runs as root"),
        ("COPY centroids centroids", "COPY centroidz centroids", "no such file"),
        ("--index-url https://download.pytorch.org/whl/cpu ", "", "CPU wheel index"),
        ("torch==2.13.0", "torch==2.0.0", "differs from pyproject"),
        ("RUN semroute prepare && ", "RUN ", "no `semroute prepare`"),
        ("127.0.0.1:8080/readyz", "127.0.0.1:8080/healthz", "not /readyz"),
        ("SEMROUTE_SERVICE__PORT=8080", "SEMROUTE_SERVICE__PORT=80800", "the image's ENV"),
        ('CMD ["semroute", "serve"]', 'CMD ["semroute", "serv"]', "does not parse"),
    ],
)
def test_a_broken_dockerfile_is_caught(
    checker: ModuleType, dockerfile: str, ignored: list[str], old: str, new: str, problem: str
) -> None:
    assert old in dockerfile
    problems = checker.check_dockerfile(dockerfile.replace(old, new), ignored)
    assert any(problem in p for p in problems), problems


def test_an_ignored_copy_is_caught(checker: ModuleType, dockerfile: str) -> None:
    problems = checker.check_dockerfile(dockerfile, ["centroids"])
    assert any("excluded by .dockerignore" in p for p in problems)


def test_compose_has_redis_two_replicas_prometheus_and_grafana(
    checker: ModuleType, compose: dict[str, Any]
) -> None:
    assert checker.check_compose(compose) == []
    services = compose["services"]
    for name in ("semroute-1", "semroute-2"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
    ports = {services[n]["ports"][0] for n in ("semroute-1", "semroute-2")}
    assert len(ports) == 2  # both reachable from the host


def test_a_broken_compose_is_caught(checker: ModuleType, compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    del broken["services"]["grafana"]
    assert "compose: no service grafana" in checker.check_compose(broken)
    broken = copy.deepcopy(compose)
    broken["services"]["semroute-2"]["environment"]["SEMROUTE_LIMITS__PER_KEY__BOGUS"] = "1"
    assert any("compose semroute-2" in p for p in checker.check_compose(broken))
    broken = copy.deepcopy(compose)
    broken["services"]["prometheus"]["volumes"][0] = "./nope.yml:/etc/prometheus/prometheus.yml"
    assert any("nope.yml" in p for p in checker.check_compose(broken))
    broken = copy.deepcopy(compose)
    broken["services"]["grafana"]["entrypoint"] = ["/run.sh"]
    assert any("DS_PROMETHEUS" in p for p in checker.check_compose(broken))


def test_the_images_semroute_steps_run_here(checker: ModuleType, dockerfile: str) -> None:
    env: dict[str, str] = {}
    for word, args in checker.instructions(dockerfile):
        if word == "ENV":
            env.update(checker._env(args))
    assert env["SEMROUTE_SERVICE__HOST"] == "0.0.0.0"
    assert checker.mirror(env, prepare=False) == []  # `semroute config check`, as in the image


def test_unpinned_dependencies_are_caught(
    checker: ModuleType, dockerfile: str, ignored: list[str]
) -> None:
    problems = checker.check_dockerfile(dockerfile.replace("-c constraints.txt .", "."), ignored)
    assert any("constraints.txt" in p for p in problems)


def _five_xx_pattern(text: str) -> re.Pattern[str]:
    found = re.search(r'semroute_requests_total\{status=~\\?"([^"\\]+)\\?"', text)
    assert found, "no 5xx status regex"
    return re.compile(found.group(1))


@pytest.mark.parametrize("path", ["deploy/alerts.yml", "deploy/grafana/semroute-dashboard.json"])
def test_the_5xx_alert_and_panel_match_every_5xx_status_code_and_no_other(path: str) -> None:
    """The status label is an error code, not a status: the 5xx regex must list exactly the
    codes answered with a 5xx (the error table's, and the middleware's own)."""
    from router import errors
    from service.errors import ERROR_STATUS

    pattern = _five_xx_pattern((ROOT / path).read_text())
    codes = {cls.code: status for cls, status in ERROR_STATUS.items()}
    own = {"internal_error": 500, "request_timeout": 504, "shutting_down": 503}
    codes.update(own)
    codes.update({"http_502": 502, "http_599": 599, "http_418": 418, "invalid_request": 400})
    codes[errors.AccessError.code] = ERROR_STATUS[errors.AccessError]
    wrong = {c for c, s in codes.items() if bool(pattern.fullmatch(c)) != (s >= 500)}
    assert not wrong, f"{path}: the 5xx regex is wrong for {sorted(wrong)}"
