"""Check the Dockerfile and deploy/compose.yaml where no container runtime runs.

    python deploy/check_image.py            # static checks + `semroute config check` as the image
    python deploy/check_image.py --prepare  # also `semroute prepare`, the image's build step

What it checks, without Docker: every file the image copies exists and is not excluded by
.dockerignore; torch is the CPU build at the version pyproject.toml pins; the image runs as a
non-root user and prepares its artifacts at build time as that user; every `semroute` command
it runs parses; the image's SEMROUTE_* settings validate; the HEALTHCHECK asks /readyz on the
served port. In compose.yaml: the services, that every file mounted or built exists, that the
replicas' settings validate and point at the Redis service, that Prometheus scrapes both
replicas and Grafana's data source is the one the dashboard is rewritten to.
Exit status 1 with one line per problem. What it cannot check: that the images build and run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
REPLICAS = ("semroute-1", "semroute-2")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _env(args: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in shlex.split(args) if "=" in part)


def _command(args: str) -> list[str]:
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def _semroute_commands(steps: list[tuple[str, str]]) -> list[list[str]]:
    found = []
    for word, args in steps:
        if word in ("RUN", "CMD"):
            for part in re.split(r"&&|;", args if word == "RUN" else " ".join(_command(args))):
                argv = shlex.split(part)
                if argv[:1] == ["semroute"]:
                    found.append(argv[1:])
    return found


def check_dockerfile(text: str, ignored: list[str]) -> list[str]:
    steps = instructions(text)
    problems: list[str] = []
    env: dict[str, str] = {}
    user = "root"
    prepared_as = None
    for word, args in steps:
        if word == "ENV":
            env.update(_env(args))
        elif word == "USER":
            user = args
        elif word == "COPY" and not args.startswith("--from"):
            for source in shlex.split(args)[:-1]:
                if not (ROOT / source).exists():
                    problems.append(f"COPY {source}: no such file in the repository")
                if source.rstrip("/") in ignored:
                    problems.append(f"COPY {source}: excluded by .dockerignore")
        elif word == "RUN" and "semroute prepare" in args:
            prepared_as = user
    problems += _check_torch(text)
    if (ROOT / "constraints.txt").is_file() and "-c constraints.txt ." not in text:
        problems.append("the dependencies are not installed with -c constraints.txt")
    if user in ("root", "0"):
        problems.append("the image runs as root: add a USER")
    if prepared_as is None:
        problems.append("no `semroute prepare` step: artifacts would be built at first start")
    elif prepared_as != user:
        problems.append("`semroute prepare` runs as another user than the service")
    problems += _check_commands(_semroute_commands(steps))
    problems += _check_settings(env, "the image's ENV")
    problems += _check_health(steps, env)
    return problems


def _check_torch(text: str) -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("torch")]
    match = re.search(r"pip install (--index-url (\S+) )?(torch==\S+)", text)
    if match is None:
        return ["torch is not installed first (pip would pull the CUDA build)"]
    problems = []
    if not match.group(2) or not match.group(2).rstrip("/").endswith("/cpu"):
        problems.append("torch does not come from the CPU wheel index")
    if pins and match.group(3) != pins[0]:
        problems.append(f"torch pin {match.group(3)} differs from pyproject.toml's {pins[0]}")
    return problems


def _check_commands(commands: list[list[str]]) -> list[str]:
    from service.cli import _parser

    problems = []
    for argv in commands:
        try:
            _parser().parse_args(argv)
        except SystemExit:
            problems.append(f"`semroute {' '.join(argv)}` does not parse")
    if ["serve"] not in [a[:1] for a in commands]:
        problems.append("the image does not run `semroute serve`")
    return problems


def _check_settings(env: dict[str, str], where: str) -> list[str]:
    from router.config import load_config
    from router.errors import ConfigError

    settings = {k: v for k, v in env.items() if k.startswith("SEMROUTE_")}
    try:
        load_config(environ=settings)
    except ConfigError as exc:
        return [f"{where}: {exc}"]
    return []


def _check_health(steps: list[tuple[str, str]], env: dict[str, str]) -> list[str]:
    from service.routes.health import router

    health = " ".join(args for word, args in steps if word == "HEALTHCHECK")
    exposed = {args.split("/")[0] for word, args in steps if word == "EXPOSE"}
    port = env.get("SEMROUTE_SERVICE__PORT", "8080")
    match = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", health)
    if match is None:
        return ["no HEALTHCHECK asking http://127.0.0.1:PORT/readyz"]
    problems = []
    paths = {getattr(r, "path", "") for r in router.routes}
    if match.group(2) != "/readyz" or "/readyz" not in paths:
        problems.append(f"HEALTHCHECK asks {match.group(2)}, not /readyz")
    if match.group(1) != port or port not in exposed:
        problems.append(f"HEALTHCHECK port {match.group(1)}, served {port}, exposed {exposed}")
    return problems


def check_compose(compose: dict[str, Any]) -> list[str]:
    services = compose.get("services", {})
    problems = [
        f"compose: no service {name}"
        for name in ("redis", *REPLICAS, "prometheus", "grafana")
        if name not in services
    ]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith(".") and not (DEPLOY / source).exists():
                problems.append(f"compose {name}: mounts {source}, which does not exist")
        build = service.get("build")
        if build and not (DEPLOY / build["context"] / build["dockerfile"]).is_file():
            problems.append(f"compose {name}: no Dockerfile at {build}")
    for name in REPLICAS:
        env = {k: str(v) for k, v in services.get(name, {}).get("environment", {}).items()}
        if not env.get("SEMROUTE_REDIS__URL", "").startswith("redis://redis:"):
            problems.append(f"compose {name}: SEMROUTE_REDIS__URL is not the redis service")
        problems += _check_settings(env, f"compose {name}")
    problems += _check_prometheus(services.get("prometheus", {}))
    problems += _check_grafana(services.get("grafana", {}))
    return problems


def _mounted(service: dict[str, Any], target: str) -> Path | None:
    for volume in service.get("volumes", []):
        source, mounted = volume.split(":")[:2]
        if mounted == target:
            return DEPLOY / str(source)
    return None


def _check_prometheus(service: dict[str, Any]) -> list[str]:
    config_path = _mounted(service, "/etc/prometheus/prometheus.yml")
    if config_path is None or not config_path.is_file():
        return ["compose prometheus: no scrape config mounted at /etc/prometheus/prometheus.yml"]
    config = yaml.safe_load(config_path.read_text())
    targets = {
        t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]
    }
    problems = [
        f"prometheus does not scrape {r}:8080" for r in REPLICAS if f"{r}:8080" not in targets
    ]
    for rules in config.get("rule_files", []):
        if _mounted(service, f"/etc/prometheus/{rules}") is None:
            problems.append(f"compose prometheus: rule file {rules} is not mounted beside it")
    return problems


def _check_grafana(service: dict[str, Any]) -> list[str]:
    sources = DEPLOY / "grafana/provisioning/datasources/prometheus.yml"
    uids = {d["uid"] for d in yaml.safe_load(sources.read_text())["datasources"]}
    script = " ".join(service.get("entrypoint", []))
    match = re.search(r"s/\$\$\{DS_PROMETHEUS\}/(\w+)/g", script)
    if match is None or match.group(1) not in uids:
        return ["compose grafana: the dashboard's ${DS_PROMETHEUS} is not set to a data source"]
    dashboard = (DEPLOY / "grafana/semroute-dashboard.json").read_text()
    if "${DS_PROMETHEUS}" not in dashboard:
        return ["the dashboard no longer uses ${DS_PROMETHEUS}: update the grafana entrypoint"]
    return []


def mirror(env: dict[str, str], prepare: bool) -> list[str]:
    """Run the image's semroute build steps here, with its ENV."""
    steps = [["config", "check"]] + ([["prepare"]] if prepare else [])
    problems = []
    for argv in steps:
        run_env = {**os.environ, **env}
        done = subprocess.run(
            [sys.executable, "-m", "service.cli", *argv], env=run_env, cwd=ROOT, check=False
        )
        if done.returncode != 0:
            problems.append(f"`semroute {' '.join(argv)}` exited {done.returncode}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepare", action="store_true", help="also run `semroute prepare`")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    text = (ROOT / "Dockerfile").read_text()
    ignored = (ROOT / ".dockerignore").read_text().split()
    problems = check_dockerfile(text, ignored)
    problems += check_compose(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))
    env: dict[str, str] = {}
    for word, rest in instructions(text):
        if word == "ENV":
            env.update(_env(rest))
    problems += mirror(env, args.prepare)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"Dockerfile and compose.yaml: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
