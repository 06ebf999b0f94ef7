"""What the cache verifier reads of one text, and which named things one text lacks.

``profile(text)`` analyses a text once (memoised) into a ``Profile``: tokens and stems, content
words, numbers (digits and spelled out), what each negation scopes over, quoted text, named
entities, code identifiers, lexicon values, "a to b" pairs and character trigrams.
``unmatched_entities`` / ``unmatched_idents`` compare two profiles, allowing for acronyms,
demonyms and prefixes. The guards and features built on these live in
``router.cache.verify.verifier``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from router.cache.verify.lexicon import (
    DEMONYMS,
    LEXICON_INDEX,
    LEXICONS,
    NEGATIONS,
    NUMBER_WORDS,
    SCALES,
    STOPWORDS,
)

_TOKEN = re.compile(r"\d+(?:[.:]\d+)*|[^\W\d_]+(?:\+\+|#)?|[$€£¥₹]")
_QUOTED = re.compile(r"(?<!\w)[\"'“‘`]([^\"'“”‘’`]{1,80})[\"'”’`](?!\w)")
_CAMEL = re.compile(r"[a-z][A-Z]|[A-Z]{2}[a-z]")
_IDENT = re.compile(
    r"\w[\w-]*(?:(?:\.|::|->)[A-Za-z_]\w*)+|\w+_\w+|\w+\(\)|[A-Za-z_]\w*:[A-Za-z0-9][\w.-]*"
)
_PARTS = re.compile(r"[A-Z]?[^A-Z]+|[A-Z]+(?![a-z])")
_REWRITES = [("’", "'"), ("n't", " not"), ("cannot", "can not"), ("→", " to "), ("->", " to ")]
_REWRITES += [("°f", " fahrenheit"), ("°c", " celsius")]
_DIRECTIONAL = frozenset({"to", "into"})


@dataclass(frozen=True, slots=True)
class Profile:
    """What the guards and features need from one text, computed once per text."""

    tokens: tuple[str, ...]
    token_set: frozenset[str]
    stems: frozenset[str]
    content: frozenset[str]  # stems of the words that carry meaning
    parts: tuple[tuple[str, str], ...]  # (camelCase part, its word), for acronyms
    numbers: frozenset[str]
    weak_one: bool  # the only "1" is the word "one", often a pronoun ("which one")
    negated: frozenset[str]  # what a negation scopes over: "no summaries" → {"summary"}
    quotes: tuple[frozenset[str], ...]
    entities: frozenset[str]
    idents: frozenset[str]
    lexicon: tuple[tuple[str, ...], ...]  # per LEXICONS entry, values in order of appearance
    pairs: tuple[tuple[str, str], ...]  # ("markdown", "html") from "markdown to html"
    trigrams: frozenset[str]


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix, keep in (("ing", 5), ("ed", 4), ("es", 4), ("s", 3)):
        if word.endswith(suffix) and len(word) > keep and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _spoken_numbers(tokens: Sequence[str]) -> tuple[set[str], bool]:
    """Written-out numbers ("twenty one", "two hundred") → digit strings; a lone "one" is weak."""
    found: set[str] = set()
    weak, run, total, current = False, 0, 0, 0
    for i, tok in enumerate([*tokens, ""]):
        if tok in NUMBER_WORDS or (tok in SCALES and run):
            run += 1
            if tok in SCALES:
                total, current = total + max(current, 1) * SCALES[tok], 0
            else:
                current += NUMBER_WORDS[tok]
            continue
        if run == 1 and tokens[i - 1] == "one":
            weak = True
        elif run:
            found.add(str(total + current))
        run, total, current = 0, 0, 0
    return found, weak


def _digit_numbers(text: str) -> set[str]:
    found = re.findall(r"\d+(?:[.:]\d+)*", re.sub(r"(?<=\d),(?=\d{3}\b)", "", text))
    return {n if "." in n or ":" in n else str(int(n)) for n in found}


def _is_lexical(word: str) -> bool:
    return word in STOPWORDS or word in NEGATIONS or word in LEXICON_INDEX


def _entities(text: str) -> frozenset[str]:
    """Proper nouns, acronyms and camelCase names; a capitalised sentence start is none, and
    title-cased text ("Tips For Busy Parents") keeps only acronyms and camelCase."""
    raw = text.split()
    words = [w.strip("\"'“”‘’`()[]{}.,;:!?*") for w in raw]
    alpha = [w for w in words if w[:1].isalpha()]
    title = len(alpha) >= 3 and sum(w[0].isupper() for w in alpha) >= 0.6 * len(alpha)
    shout = len(alpha) >= 3 and sum(w.isupper() for w in alpha) >= 0.6 * len(alpha)
    out: set[str] = set()
    for i, word in enumerate(words):
        start = i == 0 or raw[i - 1].endswith((".", "!", "?", ":"))
        if not word[:1].isalpha() or word in ("I", "A") or _is_lexical(word.lower()):
            continue
        strong = bool(_CAMEL.search(word)) or (word.isupper() and len(word) > 1 and not shout)
        if strong or (word[0].isupper() and not start and not title):
            out.update(t for t in _TOKEN.findall(word.lower()) if t.isalpha())
    return frozenset(out)


def _negated(tokens: Sequence[str]) -> frozenset[str]:
    """The first content word after each negation ("don't use recursion" → "use"); a cue
    with nothing to scope over stands for itself ("not" alone)."""
    out = set()
    for i, tok in enumerate(tokens):
        if tok in NEGATIONS:
            scope = [t for t in tokens[i + 1 : i + 4] if t not in STOPWORDS and t not in NEGATIONS]
            out.add(_stem(scope[0]) if scope else "not")
    return frozenset(out)


def _lexicon_values(tokens: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    values: list[dict[str, None]] = [{} for _ in LEXICONS]
    for gram in [*tokens, *(f"{a}_{b}" for a, b in pairwise(tokens))]:
        for i, canon in LEXICON_INDEX.get(gram) or LEXICON_INDEX.get(_stem(gram)) or []:
            values[i][canon] = None
    return tuple(tuple(v) for v in values)


def _pairs(tokens: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (tokens[i - 1], tokens[i + 1])
        for i in range(1, len(tokens) - 1)
        if tokens[i] in _DIRECTIONAL
        and not {tokens[i - 1], tokens[i + 1]} & STOPWORDS
        and tokens[i - 1].isalpha()
        and tokens[i + 1].isalpha()
    )


def _normalise(text: str) -> str:
    low = text.lower()
    for old, new in _REWRITES:
        low = low.replace(old, new)
    return low


@lru_cache(maxsize=4096)
def profile(text: str) -> Profile:
    """Analyse one text (memoised: the cached side of a check repeats)."""
    low = _normalise(text)
    tokens = tuple(_TOKEN.findall(low))
    spoken, weak = _spoken_numbers(tokens)
    numbers = _digit_numbers(low) | spoken
    padded = f" {' '.join(tokens)} "
    idents = (m.lower() for m in _IDENT.findall(text) if not re.fullmatch(r"(?:\w\.)+\w?", m))
    return Profile(
        tokens=tokens,
        token_set=frozenset(tokens),
        stems=frozenset(map(_stem, tokens)),
        content=frozenset(_stem(t) for t in tokens if t not in STOPWORDS and not t[0].isdigit()),
        parts=tuple(
            (p.lower(), w.lower())
            for w in _TOKEN.findall(text)
            for p in (_PARTS.findall(w) if not w.islower() else (w,))
        ),
        numbers=frozenset(numbers),
        weak_one=weak and "1" not in numbers,
        negated=_negated(tokens),
        quotes=tuple(
            frozenset(map(_stem, _TOKEN.findall(_normalise(q)))) for q in _QUOTED.findall(text)
        ),
        entities=_entities(text),
        idents=frozenset(idents),
        lexicon=_lexicon_values(tokens),
        pairs=_pairs(tokens),
        trigrams=frozenset(padded[i : i + 3] for i in range(min(len(padded) - 2, 600))),
    )


def _acronym_cover(parts: Sequence[tuple[str, str]], tokens: Iterable[str]) -> set[str]:
    """Words of this text that an acronym of the other spells out ("new york city" ← "nyc")."""
    initials, covered = "".join(p[0] for p, _ in parts), set[str]()
    for tok in tokens:
        if 2 <= len(tok) <= 6 and tok.isalpha() and tok not in STOPWORDS:
            at = initials.find(tok)
            while at >= 0:
                covered.update(w for _, w in parts[at : at + len(tok)])
                at = initials.find(tok, at + 1)
    return covered


def _entity_found(entity: str, other: Profile) -> bool:
    if entity in other.token_set or _acronym_cover(other.parts, [entity]):
        return True
    nation = DEMONYMS.get(entity)
    if nation and any(DEMONYMS.get(t) == nation for t in other.token_set):
        return True
    return any(
        min(len(t), len(entity)) >= 3 and (t.startswith(entity) or entity.startswith(t))
        for t in other.token_set
    )


def unmatched_entities(mine: Profile, other: Profile) -> list[str]:
    """Named entities of ``mine`` that ``other`` does not mention in any spelling."""
    if not mine.entities:
        return []
    covered = _acronym_cover(mine.parts, other.token_set)
    return sorted(e for e in mine.entities if e not in covered and not _entity_found(e, other))


def unmatched_idents(mine: Profile, other: Profile) -> list[str]:
    """Code identifiers / domains of ``mine`` whose parts ``other`` does not all contain."""
    if not mine.idents:
        return []
    return sorted(i for i in mine.idents if not set(_TOKEN.findall(i)) <= other.token_set)
