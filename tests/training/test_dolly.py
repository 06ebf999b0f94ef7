"""The Dolly sample: prompt composition, truncation, the split, and the committed files."""

from __future__ import annotations

import json
from pathlib import Path

from training.dolly import DATA, RAW, build, compose, main, split, truncate


def _raw(instruction: str, context: str = "", task: str = "extract") -> dict[str, object]:
    return {
        "instruction": instruction,
        "context": context,
        "category": "closed_qa",
        "task": task,
        "offset": 0,
    }


def test_a_long_passage_is_cut_at_the_last_sentence_end() -> None:
    passage = "The bridge opened in 1932. " * 80  # 2,160 characters
    cut = truncate(passage)
    assert len(cut) <= 1500 and cut.endswith("1932.")
    assert truncate("short. passage") == "short. passage"


def test_a_citation_after_the_full_stop_stays_with_its_sentence() -> None:
    passage = ("It was founded in 1988.[4] " * 60).strip()
    assert truncate(passage, 100).endswith(".[4]")


def test_the_shape_names_what_comes_first() -> None:
    row = _raw("When did it open?", "The bridge opened in 1932 after four years of work.")
    shapes = {compose(row, f"dolly-closed_qa-{i:03d}")[1] for i in range(40)}
    assert shapes == {"passage_question", "question_passage"}
    text, shape = compose(_raw("What is a stock?", task="lookup"), "dolly-open_qa-001")
    assert (text, shape) == ("What is a stock?", "plain")
    summary = _raw("Summarize this.", "A passage of some length. " * 10, task="summarize")
    assert "summarise" in compose(summary, "dolly-summarization-001")[1]


def test_the_passage_is_pasted_verbatim_beside_the_instruction() -> None:
    row = _raw("Who won?", "Oxford won by one foot, the smallest margin ever.")
    text, shape = compose(row, "dolly-closed_qa-007")
    first, second = (row["context"], row["instruction"])
    if shape == "question_passage":
        first, second = second, first
    assert text.startswith(str(first)) and text.endswith(str(second))


def test_rows_sharing_a_passage_land_on_one_side() -> None:
    rows = [_raw(f"Question {i}?", "Shared passage about the same road sign.") for i in range(6)]
    rows += [_raw(f"Plain question {i}?") for i in range(30)]
    sample = build(rows)
    train, held = split(sample, rows)
    shared = {r["id"] for r in sample[:6]}
    assert shared <= {r["id"] for r in train} or shared <= {r["id"] for r in held}
    assert 0 < len(held) < len(train)


def test_the_committed_files_are_what_the_raw_rows_build(tmp_path: Path) -> None:
    assert main(["--raw", str(RAW), "--out", str(tmp_path)]) == 0
    for name in ("dolly_sample.jsonl", "dolly_train.jsonl", "dolly_holdout.jsonl"):
        assert (tmp_path / name).read_text() == (DATA / name).read_text(), name
    rows = [json.loads(line) for line in (DATA / "dolly_sample.jsonl").open()]
    assert {r["licence"] for r in rows} == {"CC-BY-SA-3.0"}
    assert len({r["id"] for r in rows}) == len(rows)
