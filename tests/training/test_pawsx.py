"""The PAWS-X family: TSV rows copied as cache pairs (placeholders left out), and a split by
sentence group so no sentence is on both sides."""

from __future__ import annotations

from pathlib import Path

from training.pawsx import RAW, family, from_tsv, load, split

TSV = (
    "id\tsentence1\tsentence2\tlabel\n"
    "1\tDer Fluss A ist ein Nebenfluss von B.\tDer Fluss B ist ein Nebenfluss von A.\t0\n"
    "2\tDer Fluss A ist ein Nebenfluss von B.\tA ist ein Nebenfluss des Flusses B.\t1\n"
    "3\tNS\tEr zog 1876 nach San Diego.\t1\n"
    "4\tEr zog 1876 nach San Diego.\t1876 zog er nach San Diego.\t1\n"
)


def test_from_tsv_copies_rows_and_leaves_out_placeholders(tmp_path: Path) -> None:
    path = tmp_path / "dev.tsv"
    path.write_text(TSV, encoding="utf-8")
    rows = from_tsv(path, "dev")
    assert [r["duplicate"] for r in rows] == [False, True, True]
    assert rows[0]["a"] == "Der Fluss A ist ein Nebenfluss von B."
    assert rows[0]["source"].endswith("dev.tsv#1") and "Google" in rows[0]["licence"]
    assert all(r["lang"] == "de" for r in rows)


def test_split_keeps_each_sentence_group_on_one_side() -> None:
    rows = [(f"s{i}", f"t{i}", i % 2 == 0) for i in range(400)]
    rows += [(f"t{i}", f"u{i}", False) for i in range(400)]  # t_i links two pairs
    sides = split(rows, 0.2)
    assert 0.1 < len(sides["validation"]) / len(rows) < 0.3
    seen = {s: side for side, part in sides.items() for r in part for s in r[:2]}
    for side, part in sides.items():
        assert all(seen[a] == side and seen[b] == side for a, b, _ in part)


def test_the_copied_family_is_split_without_shared_sentences() -> None:
    rows = load(RAW)
    assert len(rows) == 3900 and all(r["licence"] and r["source"] for r in rows)
    sides = family(0.2)
    fit = {s for a, b, _ in sides["fit"] for s in (a, b)}
    assert not any(a in fit or b in fit for a, b, _ in sides["validation"])
