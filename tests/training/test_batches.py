"""A writers' batch is built apart from the evaluation sets (training/batches.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes import HashingEncoder
from training.batches import build, read_rows, split_by_language


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_a_batch_keeps_new_prompts_and_drops_repeats_junk_and_the_test(tmp_path: Path) -> None:
    evaluation = _write(
        tmp_path / "holdout.jsonl",
        [
            {"text": "what is the capital of peru", "task": "lookup"},
            {"text": "write a haiku about the first snow of winter", "task": "creative"},
        ],
    )
    raw = _write(
        tmp_path / "batch3_R9.jsonl",
        [
            {
                "text": "fix this python KeyError in my pandas script",
                "task": "code",
                "writer": "R9",
                "id": "b3-R9-1",
                "lang": "en",
                "shape": "plain",
                "note": "dropped field",
            },
            {"text": "fix this python KeyError in my pandas script", "task": "code", "id": "dup"},
            {"text": "tell me a story", "task": "storytelling"},
            {"text": "   ", "task": "chat"},
            {"text": "what is the capital of peru", "task": "lookup", "writer": "R9"},
            {"text": "write a haiku about the first snow of winter please", "task": "creative"},
            {"text": "hola, ¿qué tal tu día?", "task": "chat", "writer": "R9", "mixed": True},
        ],
    )
    built = build([raw], [evaluation, tmp_path / "missing.jsonl"], HashingEncoder(), near=0.9)
    assert [r["text"] for r in built.rows] == [
        "fix this python KeyError in my pandas script",
        "hola, ¿qué tal tu día?",
    ]
    assert built.rows[0] == {
        "text": "fix this python KeyError in my pandas script",
        "task": "code",
        "lang": "en",
        "shape": "plain",
        "writer": "R9",
        "id": "b3-R9-1",
        "source": "semroute_batch_R9",
    }
    assert built.rows[1]["mixed"] is True
    parts = split_by_language([*built.rows, {"text": "¿y tú?", "task": "chat", "lang": "es"}])
    assert [r["text"] for r in parts["other"]] == ["¿y tú?"]  # no lang given: English
    assert len(parts["en"]) == 2
    assert built.dropped == {
        "exact repeat": 1,
        "no text or task outside the taxonomy": 2,
        "an evaluation row verbatim": 1,
        "within cosine 0.9 of an evaluation row": 1,
    }


def test_the_shipped_batch_shares_no_text_with_an_evaluation_set() -> None:
    from training.batches import DATA, EVAL_FILES

    parts = [DATA / "prompts_train_3_en.jsonl", DATA / "prompts_train_3_other.jsonl"]
    texts = {r["text"] for r in read_rows(parts)}
    held = {r.get("text") for r in read_rows(p for p in EVAL_FILES if p.is_file())}
    assert texts and not texts & held
