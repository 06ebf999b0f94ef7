"""Prompt shapes: a pasted passage with a short instruction before or after it.

Embedded whole, such a prompt is mostly passage, and a passage looks like "summarize" to
every encoder: a question about it ("Who led the fundraising?") was routed there too. The
instruction decides what is asked, wherever it sits, so it is cut out and classified alone
(router/classify/cascade.py): a request to summarise stays ``summarize``; a question or a
request for details about the passage is ``extract``.

Code is not a passage: a block with many code symbols keeps the whole-text decision
("why does this fail?" under a stack trace is ``code``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_TEXT_CHARS = 280  # shorter prompts are embedded whole: the instruction dominates anyway
MAX_INSTRUCTION_CHARS = 240
MIN_INSTRUCTION_CHARS = 8  # "Information:" or "Text:" is a label, not an instruction
MIN_PASSAGE_CHARS = 200
MAX_CODE_SYMBOL_SHARE = 0.04  # {}[]();=<>/\\|_`# per character: prose has almost none
_CODE_SYMBOLS = tuple("{}[]();=<>\\|_`#")
_WIDE = re.compile("[\u2e80-\U0010ffff]")  # CJK and what follows it in Unicode
_PARAGRAPHS = re.compile(r"\n\s*\n")
# "Passage: …" / "Text:" style labels carry no intent.
_LABEL = re.compile(r"^\W*(passage|text|article|context|document)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Shape:
    """A passage and the instruction found before it (``head``) or after it."""

    instruction: str
    passage_chars: int  # in Latin-character equivalents
    head: bool


def find_instruction(text: str) -> Shape | None:
    """The instruction of a passage-shaped prompt, or None when ``text`` has no such shape:
    short, one block, no short first or last block, or the rest looks like code."""
    if _width(text) < MIN_TEXT_CHARS or _code_share(text) > MAX_CODE_SYMBOL_SHARE:
        return None
    blocks = _blocks(text, _PARAGRAPHS) or _blocks(text, "\n")
    if len(blocks) < 2:
        return None
    candidates = [(blocks[-1], False, blocks[:-1]), (blocks[0], True, blocks[1:])]
    if blocks[0].endswith(":"):  # "Summarise the following:" introduces what comes next
        candidates.reverse()
    for instruction, head, rest in candidates:
        passage = "\n".join(rest)
        if _width(instruction) > MAX_INSTRUCTION_CHARS or _width(passage) < MIN_PASSAGE_CHARS:
            continue
        if _code_share(instruction) > MAX_CODE_SYMBOL_SHARE:
            return None
        instruction = _LABEL.sub("", instruction).strip()
        if _is_instruction(instruction):
            return Shape(instruction, _width(passage), head)
    return None


def _blocks(text: str, separator: re.Pattern[str] | str) -> list[str]:
    """Non-empty blocks of ``text``, split on blank lines (a pattern) or on newlines."""
    parts = separator.split(text) if isinstance(separator, re.Pattern) else text.split(separator)
    blocks = [b.strip() for b in parts if b.strip()]
    return blocks if len(blocks) >= 2 else []


def _is_instruction(text: str) -> bool:
    """Long enough and more than one word (CJK has no spaces: any CJK text of that width)."""
    wide = _width(text) > len(text)
    return _width(text) >= MIN_INSTRUCTION_CHARS and (wide or " " in text.strip(" :"))


def _width(text: str) -> int:
    """Length in Latin-character equivalents: a CJK character carries about three."""
    if text.isascii():  # on the request path: no per-character loop for most text
        return len(text)
    return len(text) + 2 * len(_WIDE.findall(text))


def _code_share(text: str) -> float:
    return sum(map(text.count, _CODE_SYMBOLS)) / max(1, len(text))
