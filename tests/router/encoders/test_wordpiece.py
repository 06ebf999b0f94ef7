"""router/encoders/wordpiece.py gives exactly the library's ids for ASCII text, and leaves
everything else to the library."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordLevel

from router.encoders.static_model import SHIPPED_STATIC_DIR, load_table
from router.encoders.wordpiece import AsciiWordPiece
from training.dataset import read_jsonl

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    library: Tokenizer = load_table(SHIPPED_STATIC_DIR).tokenizer
    library.no_truncation()  # as the static encoder calls it
    return library


@pytest.fixture(scope="module")
def wordpiece(tokenizer: Tokenizer) -> AsciiWordPiece:
    fast = AsciiWordPiece.of(tokenizer)
    assert fast is not None, "the shipped static model's tokenizer is BERT's"
    return fast


def _library(tokenizer: Tokenizer, text: str) -> list[int]:
    return list(tokenizer.encode(text, add_special_tokens=False).ids)


def _repo_prompts() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "training" / "data").glob("*.jsonl")):
        if "cache" in path.name:
            continue
        texts += [e.text for e in read_jsonl(path).examples]
    return texts


def test_every_ascii_repository_prompt_gets_the_library_ids(
    tokenizer: Tokenizer, wordpiece: AsciiWordPiece
) -> None:
    prompts = [t for t in _repo_prompts() if t.isascii()]
    assert len(prompts) > 2000
    for text in prompts:
        assert wordpiece.ids(text) == _library(tokenizer, text), text[:80]


def test_random_ascii_gets_the_library_ids(tokenizer: Tokenizer, wordpiece: AsciiWordPiece) -> None:
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(128)]
    words = [
        "python",
        "unbelievably",
        "tokenization",
        "x" * 120,
        "naïve".encode("ascii", "replace").decode(),
    ]
    for _ in range(3000):
        parts = [rng.choice(words) if rng.random() < 0.2 else "" for _ in range(3)]
        noise = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        text = " ".join([parts[0], noise, parts[1], noise.upper(), parts[2]])
        assert wordpiece.ids(text) == _library(tokenizer, text), repr(text)


def test_other_text_and_written_special_tokens_are_left_to_the_library(
    tokenizer: Tokenizer, wordpiece: AsciiWordPiece
) -> None:
    assert wordpiece.ids("Écris un poème") is None  # not ASCII
    assert wordpiece.ids("") == []
    with_mask = Tokenizer.from_str(tokenizer.to_str())
    with_mask.add_special_tokens(["[MASK]"])
    fast = AsciiWordPiece.of(with_mask)
    assert fast is not None
    assert fast.ids("fill the [MASK] in") is None  # the library matches added tokens itself
    assert fast.ids("fill the gap in") == _library(with_mask, "fill the gap in")


def test_a_tokenizer_that_is_not_berts_gets_no_fast_path() -> None:
    other = Tokenizer(WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    assert AsciiWordPiece.of(other) is None
