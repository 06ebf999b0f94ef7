"""The OpenAssistant prompts: ids, the grouped split, and the committed files."""

from __future__ import annotations

import json
from pathlib import Path

from training.oasst import DATA, RAW, build, main, row_id, split


def _raw(text: str, task: str = "lookup", **extra: object) -> dict[str, object]:
    row: dict[str, object] = {"text": text, "lang": "en", "licence": "Apache-2.0"}
    row |= {"origin": "oasst1-validation", "task": task}
    return row | extra


def test_a_tree_prompt_is_named_by_its_tree_and_a_database_prompt_by_its_text() -> None:
    assert row_id(_raw("hi", message_tree_id="e0cf4fa2-e944-44fb")) == "oasst-e0cf4fa2-e944"
    assert row_id(_raw("hi")) == row_id(_raw("hi")) != row_id(_raw("hello"))


def test_near_duplicates_share_a_side_and_every_task_is_held_out() -> None:
    rows = [_raw(f"Same riddle, variant {i}?", "analysis", group="riddle") for i in range(5)]
    rows += [_raw(f"Question {i}?", "lookup") for i in range(20)]
    rows += [_raw(f"Write poem {i}", "creative") for i in range(10)]
    sample = build(rows)
    train, held = split(sample, rows)
    riddle = {r["id"] for r in sample[:5]}
    assert riddle <= {r["id"] for r in train} or riddle <= {r["id"] for r in held}
    assert {"lookup", "creative"} <= {r["task"] for r in held}
    assert 0 < len(held) < len(train)


def test_the_committed_files_are_what_the_raw_rows_build(tmp_path: Path) -> None:
    assert main(["--raw", str(RAW), "--out", str(tmp_path)]) == 0
    for name in ("oasst_train.jsonl", "oasst_holdout.jsonl"):
        assert (tmp_path / name).read_text() == (DATA / name).read_text(), name
    raw = [json.loads(line) for line in RAW.open()]
    train = [json.loads(line) for line in (DATA / "oasst_train.jsonl").open()]
    held = [json.loads(line) for line in (DATA / "oasst_holdout.jsonl").open()]
    assert len(train) + len(held) == len(raw)
    assert {r["licence"] for r in raw} == {"Apache-2.0"}
    assert not {r["id"] for r in train} & {r["id"] for r in held}
