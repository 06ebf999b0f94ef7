"""Loopback servers for benchmarks: a minimal OpenAI-format upstream, and semroute itself.

Each runs as its own process (uvicorn), so the load generator, semroute and the upstream do
not share an event loop or a GIL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

UPSTREAM_APP = """
import json
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
}).encode()

async def chat(request):
    await request.body()
    return Response(BODY, media_type="application/json")

app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


class Process:
    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None):
        self.proc = subprocess.Popen(
            args,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("SEMROUTE_BENCH_LOG", os.devnull), "ab"),  # noqa: SIM115
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_upstream(workdir: Path) -> tuple[Process, str]:
    (workdir / "bench_upstream.py").write_text(UPSTREAM_APP)
    port = free_port()
    proc = Process(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench_upstream:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/v1/chat/completions")
    return proc, url


def semroute_config(upstream_url: str, base: Path) -> Path:
    """The embedded default catalogue, every provider pointed at the loopback upstream."""
    text = (base / "router" / "config" / "default.toml").read_text()
    for url in ("https://api.openai.com/v1", "https://api.groq.com/openai/v1"):
        text = text.replace(url, upstream_url + "/v1")
    # Anthropic models go through the OpenAI-format upstream too (kind switched).
    text = text.replace(
        'kind = "anthropic"\nbase_url = "https://api.anthropic.com"',
        f'kind = "openai"\nbase_url = "{upstream_url}/v1"',
    )
    text = text.replace('centroids_dir = "centroids"', f'centroids_dir = "{base / "centroids"}"')
    # The same prompt is sent again and again: with the cache on, everything after the first
    # would be a cache hit and nothing would reach the upstream.
    text = text.replace("[cache]\nenabled = true", "[cache]\nenabled = false")
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"semroute-bench-{os.getpid()}.toml"
    path.write_text(text)
    return path


def start_semroute(
    config: Path | None, *, keys: bool = True, env_overrides: dict[str, str] | None = None
) -> tuple[Process, str]:
    """semroute in its own process; ``config`` None → the embedded default (mock mode when
    ``keys`` is False); ``env_overrides``: SEMROUTE_* settings for this run."""
    port = free_port()
    env = {"OPENAI_API_KEY": "bench", "ANTHROPIC_API_KEY": "bench", "GROQ_API_KEY": "bench"}
    args = [
        sys.executable,
        "-m",
        "service.cli",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    if config is not None:
        args += ["--config", str(config)]
    proc = Process(args, env={**(env if keys else dict.fromkeys(env, "")), **(env_overrides or {})})
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/readyz")
    return proc, url
