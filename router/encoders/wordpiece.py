"""BERT WordPiece for ASCII text in plain Python: the ids the ``tokenizers`` library gives,
without the cost of a call into it.

On the request path the static stage tokenises one short text at a time, and a call into
``tokenizers`` (normaliser, pre-tokeniser, model, each through its Python binding) cost
~0.1 ms of the ~1 ms a ``/v1/route`` request takes on the event loop. For ASCII text, which
is most English traffic, BERT's pipeline is simple enough to redo exactly — drop control
characters, lower-case, split on whitespace and isolate punctuation, then greedy
longest-match WordPiece — with the pieces of every word seen remembered. Anything else
(other characters, a special token written in the text, another tokeniser) is left to the
library: ``AsciiWordPiece.of`` returns None where the pipeline is not BERT's, and ``ids``
returns None for text it does not take. tests/router/encoders/test_wordpiece.py checks it
against the library on every repository prompt and on random ASCII.
"""

from __future__ import annotations

import json
import re
from typing import Any

# BERT's clean_text removes control characters (tab, newline and carriage return are
# whitespace); lower-casing and accent stripping change nothing else in ASCII.
_CONTROL = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
# After that, a word is a run of letters and digits; every other printable character is
# punctuation and a token of its own (BertPreTokenizer); whitespace separates.
_TOKEN = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")
_MEMO_WORDS = 1 << 16


class AsciiWordPiece:
    """Exact BERT tokenisation of ASCII text (see the module's docstring)."""

    def __init__(
        self,
        vocab: dict[str, int],
        unk: str,
        prefix: str,
        max_chars: int,
        specials: tuple[str, ...],
    ) -> None:
        self.vocab = vocab
        self.unk_id = vocab[unk]
        self.prefix = prefix
        self.max_chars = max_chars
        self.specials = specials  # added tokens, lower-cased: the library matches them itself
        self._words: dict[str, tuple[int, ...]] = {}

    @classmethod
    def of(cls, tokenizer: Any) -> AsciiWordPiece | None:
        """The fast path for a ``tokenizers.Tokenizer``, or None when its pipeline is not
        BERT's (lower-casing normaliser, BERT pre-tokeniser, WordPiece)."""
        spec = json.loads(tokenizer.to_str())
        normalizer, pre = spec.get("normalizer"), spec.get("pre_tokenizer")
        model = spec.get("model")
        bert_normalizer = (
            isinstance(normalizer, dict)
            and normalizer.get("type") == "BertNormalizer"
            and normalizer.get("clean_text") is True
            and normalizer.get("lowercase") is True
        )
        if not (bert_normalizer and pre == {"type": "BertPreTokenizer"}):
            return None
        if not isinstance(model, dict) or model.get("type") != "WordPiece":
            return None
        vocab, unk = model.get("vocab"), model.get("unk_token")
        if not isinstance(vocab, dict) or not isinstance(unk, str) or unk not in vocab:
            return None
        specials = tuple(t["content"].lower() for t in spec.get("added_tokens") or ())
        return cls(
            vocab,
            unk,
            str(model.get("continuing_subword_prefix", "##")),
            int(model.get("max_input_chars_per_word", 100)),
            specials,
        )

    def ids(self, text: str) -> list[int] | None:
        """The token ids of ``text`` (no special tokens added); None when it is not ASCII or
        writes out a special token (the library decides those)."""
        if not text.isascii():
            return None
        lowered = text.translate(_CONTROL).lower()
        if any(s in lowered for s in self.specials):
            return None
        out: list[int] = []
        words = self._words
        for word in _TOKEN.findall(lowered):
            pieces = words.get(word)
            if pieces is None:
                pieces = self._pieces(word)
                if len(words) >= _MEMO_WORDS:
                    words.clear()
                words[word] = pieces
            out.extend(pieces)
        return out

    def _pieces(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first WordPiece; a word with an unmatched part is unknown."""
        if len(word) > self.max_chars:
            return (self.unk_id,)
        vocab, pieces, start = self.vocab, [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self.unk_id,)
            pieces.append(found)
            start = end
        return tuple(pieces)
