"""The semroute command as a user runs it (subprocesses, real model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def semroute(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        check=False,
    )


def test_eval_json_is_exactly_one_object(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    rows = [
        {"text": "Write a Python function that reverses a linked list", "task": "code"},
        {"text": "Write a haiku about autumn rain", "task": "creative"},
        {"text": "hi! how was your weekend?", "task": "chat"},
        {"text": "Translate this into Klingon", "task": "translation"},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    done = semroute("eval", "--data", str(data), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # the whole of stdout is one JSON object
    assert {"n", "accuracy", "macro_f1", "unknown_rate", "per_task", "confusion"} <= set(report)
    assert report["n"] == 3
    assert report["accuracy"] == 1.0
    assert report["outside_taxonomy"] == {"n": 1, "labels": {"translation": 1}}
    assert report["invalid_rows"] == 1


def test_route_prints_the_decision() -> None:
    done = semroute("route", "Write a Python function that reverses a linked list", "--json")
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout)
    assert decision["task"] == "code"
    assert decision["candidates"][0]["model"]
    human = semroute("route", "--priority", "cost", "Write a haiku about autumn rain")
    assert human.returncode == 0
    assert human.stdout.startswith("task: creative")


def test_eval_reports_slices_per_language_and_shape_and_the_chat_sink(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    rows = [
        {"text": "写一首关于秋天的诗", "task": "creative", "lang": "zh", "shape": "plain"},
        {"text": "Сколько будет 15% от 840?", "task": "math", "lang": "ru", "shape": "plain"},
        {"text": "Write a haiku about autumn rain", "task": "creative", "lang": "en"},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    done = semroute("eval", "--data", str(data), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["decided_by"].get("multilingual", 0) >= 2
    assert set(report["routed"]) == {"accuracy", "default_share", "chat_sink"}
    assert report["slices"]["language:other"]["n"] == 2
    assert report["slices"]["lang:en"]["n"] == 1
    assert report["slices"]["shape:plain"]["n"] == 2


def test_route_says_which_encoder_decided_another_language() -> None:
    done = semroute("route", "Напиши стихотворение о весне", "--json")
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout)
    assert (decision["task"], decision["decided_by"]) == ("creative", "multilingual")


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[routing]\ndefault_route = 3\n")
    done = semroute("route", "hello", env={"SEMROUTE_CONFIG": str(bad)})
    assert done.returncode == 2
    assert str(bad) in done.stderr
    assert "Traceback" not in done.stderr
    missing = semroute("eval", "--data", str(tmp_path / "absent.jsonl"))
    assert missing.returncode == 2
    assert "not found" in missing.stderr


def test_route_takes_text_that_is_not_utf8() -> None:
    # A Latin-1 terminal: Python hands such bytes over as lone surrogates.
    latin1 = "Write a haiku about a caf\xe9 in autumn".encode("latin-1")
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "route", os.fsdecode(latin1), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["candidates"]
