"""The LiteLLM proxy as a peer in the same run: installed on demand into its own venv
(``bench/.litellm``, ignored by git; never a dependency of semroute), pointed at the same
loopback upstream, started and stopped like semroute.

    .venv/bin/python bench/proxy_overhead.py           # includes LiteLLM when it installs
    SEMROUTE_BENCH_LITELLM=0 .venv/bin/python bench/proxy_overhead.py   # without it

If it does not install or start (no registry, a broken release), the benchmark says why in
its results and measures semroute alone.
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

from loopback import Process, free_port, wait_ready

# The release measured, pinned so that reruns compare the same proxy: the newest whose [proxy]
# extra installs from the registry here (later ones pin litellm-proxy or litellm-proxy-extras
# releases it lacks).
VERSION = "1.108.0"
VENV = Path(__file__).resolve().parent / ".litellm"
CONFIG = """
model_list:
  - model_name: bench
    litellm_params:
      model: openai/bench
      api_base: {upstream}/v1
      api_key: bench
litellm_settings:
  telemetry: false
general_settings:
  disable_spend_logs: true
"""


def _python() -> Path:
    return VENV / "bin" / "python"


def ensure_installed() -> str | None:
    """None when LiteLLM's proxy is ready to start; otherwise why it is not."""
    if os.environ.get("SEMROUTE_BENCH_LITELLM") == "0":
        return "skipped (SEMROUTE_BENCH_LITELLM=0)"
    marker = VENV / f".installed-{VERSION}"
    if marker.exists():
        return None
    install = [str(_python()), "-m", "pip", "install", "-q", f"litellm[proxy]=={VERSION}"]
    try:
        if not _python().exists():
            venv.create(VENV, with_pip=True)
        done = subprocess.run(install, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.SubprocessError) as exc:  # no ensurepip, a hung registry
        return f"litellm[proxy]=={VERSION} did not install: {exc}"
    if done.returncode != 0:
        return f"litellm[proxy]=={VERSION} did not install: {done.stderr.strip()[-300:]}"
    marker.touch()
    return None


def start_litellm(upstream_url: str, workdir: Path) -> tuple[Process, str]:
    """The proxy on a free loopback port, one worker, its model ``bench`` → the upstream.

    Raises: RuntimeError when it does not become ready."""
    config = workdir / "litellm.yaml"
    config.write_text(CONFIG.format(upstream=upstream_url))
    port = free_port()
    litellm = VENV / "bin" / "litellm"
    if not litellm.exists():
        raise RuntimeError(f"{litellm} is missing")
    args = [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    env = {
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "NO_DOCS": "True",
        # Loopback only, like semroute in these benchmarks: no client keys on either side.
        "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
    }
    proc = Process(args, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url + "/health/liveliness", timeout=180)
    except RuntimeError:
        proc.stop()
        raise
    return proc, url
