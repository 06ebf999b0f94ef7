"""The closed loop, end to end: requests through the service, feedback that corrects misroutes,
retraining from the logs, the promotion gate (accepting a better candidate, refusing one
trained on shuffled labels), promotion, and the running service routing the corrected examples
correctly after it picks up the new CURRENT."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import httpx

from router import Router
from router.classify.centroids import current_version, load_centroids
from router.config.settings import Config, EncoderConfig
from router.execution.deployments import build_providers
from router.outcomes.log import read_jsonl_records
from service.app import create_app
from tests.conftest import make_test_config
from tests.fakes import HashingEncoder
from tests.serving import serve
from tests.training.test_train import synthetic_rows, write_jsonl
from training.dataset import read_many
from training.logs import add_log_examples
from training.train import TrainOptions, train

# Requests about "gizmo" hardware are really code questions, but they open with chat words.
NEW_VOCAB = ["gizmo", "widget", "sprocket", "flange", "gasket", "rotor", "sensor", "firmware"]


def misroutable(i: int) -> str:
    rng = random.Random(i)
    return "hello hi " + " ".join(rng.sample(NEW_VOCAB, 4))


def setup(tmp_path: Path) -> tuple[Config, Path, HashingEncoder]:
    encoder = HashingEncoder()
    base = write_jsonl(tmp_path / "base.jsonl", synthetic_rows(30, seed=1))
    root = tmp_path / "centroids"
    train(read_many([base]), root, encoder, EncoderConfig(), TrainOptions(k=1, progress=False))
    config = make_test_config(root)
    raw = config.model_dump()
    raw["outcomes"].update(include_text=True, path=str(tmp_path / "outcomes"))
    raw["routing"]["watch_current_s"] = 0.2
    return Config.model_validate(raw), base, encoder


def test_feedback_retrain_gate_promote_reload(tmp_path: Path) -> None:
    config, base, encoder = setup(tmp_path)
    root = config.routing.centroids_dir
    router = Router.from_config(config, encoder, build_providers(config, environ={}))
    with serve(create_app(config, router)) as url:
        ids = []
        for i in range(24):
            r = httpx.post(
                url + "/v1/chat/completions",
                timeout=30,
                json={"model": "auto", "messages": [{"role": "user", "content": misroutable(i)}]},
            )
            assert r.status_code == 200
            assert r.json()["semroute"]["task"] == "chat"  # the misroute
            ids.append(r.headers["x-request-id"])
        for rid in ids:
            fb = httpx.post(
                url + "/v1/feedback",
                json={"request_id": rid, "rating": "bad", "correct_task": "code"},
            )
            assert fb.status_code == 200

        logs = tmp_path / "outcomes"
        deadline = time.monotonic() + 10
        while sum(r["type"] == "feedback" for r in read_jsonl_records(logs)) < 24:
            assert time.monotonic() < deadline, "feedback never reached the log"
            time.sleep(0.1)

        live = load_centroids(root, encoder_name=encoder.name, dim=encoder.dim)
        # A worse candidate (labels shuffled) is refused and CURRENT stays.
        rows = synthetic_rows(30, seed=1)
        tasks = [r["task"] for r in rows]
        random.Random(0).shuffle(tasks)
        shuffled = write_jsonl(
            tmp_path / "shuffled.jsonl",
            [{**r, "task": t} for r, t in zip(rows, tasks, strict=True)],
        )
        trusted = read_many([write_jsonl(tmp_path / "gate.jsonl", synthetic_rows(10, seed=7))])
        worse = train(
            read_many([shuffled]),
            root,
            encoder,
            EncoderConfig(),
            TrainOptions(k=1, promote=True, progress=False),
            live,
            gate_data=trusted,
        )
        assert worse.gate is not None and not worse.gate.accepted
        assert any("macro-F1" in reason for reason in worse.gate.reasons), worse.gate
        assert not worse.promoted and current_version(root) == "v1"

        # The base data plus the logged corrections: better, accepted, promoted. (The held-out
        # split has ~6 rows per task here, so one row is 0.17 of a task's recall.)
        data = read_many([base])
        found = add_log_examples(data, [str(logs)], weak_weight=0.3, key_prefix="semroute")
        assert found["corrections"] == 24
        better = train(
            data,
            root,
            encoder,
            EncoderConfig(),
            TrainOptions(k=2, promote=True, progress=False, max_recall_drop=0.2),
            live,
        )
        assert better.gate is not None and better.gate.accepted, better.gate
        assert better.promoted and current_version(root) == better.manifest.version
        folder = root / better.manifest.version
        report = json.loads((folder / "report.json").read_text())
        assert report["gate"]["accepted"] is True
        assert (folder / "confusion.png").stat().st_size > 1000

        # The running service follows CURRENT and now routes the corrected examples to code.
        deadline = time.monotonic() + 10
        while router.centroids.version != better.manifest.version:
            assert time.monotonic() < deadline, "the service never picked up CURRENT"
            time.sleep(0.1)
        routed = [
            httpx.post(url + "/v1/route", json={"input": misroutable(i)}).json()["task"]
            for i in range(100, 120)
        ]
        assert routed.count("code") >= 18, routed
