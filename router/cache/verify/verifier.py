"""Is serving a cached answer to this prompt right? The check that runs after the cosine search.

Cosine similarity is nearly blind to one changed detail ("TensorFlow 2.12" vs "2.13", "sort
ascending" vs "descending", "weather in Berlin" vs "in Munich"). ``CacheVerifier.check`` first
applies hard lexical guards (negation, numbers, quoted text, lexicon categories such as units,
languages, formats and opposite terms, direction, named entities, code identifiers), then a
logistic-regression verifier over pair features whose coefficients ship in
``data/cache_verifier.json`` here (fitted by ``python -m training.fit_verifier``). Long
prompts are read like the encoder reads them (head and tail); what lies between must then be
identical. Pure Python and numpy, about 0.1–0.6 ms a check: no model call, no scikit-learn.

The word tables live in ``router.cache.verify.lexicon``, the per-text analysis (``Profile``,
``profile``, ``unmatched_entities`` / ``unmatched_idents``) in ``router.cache.verify.profile``;
both are re-exported here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from router.cache.verify.lexicon import LEXICONS, NEGATIONS, STOPWORDS
from router.cache.verify.profile import Profile, profile, unmatched_entities, unmatched_idents
from router.errors import ArtifactError

__all__ = [
    "BUNDLED_VERIFIER",
    "FEATURES",
    "LEXICONS",
    "NEGATIONS",
    "SHORT_TOKENS",
    "STOPWORDS",
    "WINDOW_CHARS",
    "CacheVerifier",
    "Profile",
    "Verdict",
    "analyse",
    "exact_guards",
    "features",
    "hard_guards",
    "load_verifier",
    "profile",
    "unmatched_entities",
    "unmatched_idents",
]

BUNDLED_VERIFIER = Path(__file__).resolve().parent / "data" / "cache_verifier.json"
FEATURES = tuple(
    re.findall(
        r"\w+",
        "same_gap jaccard containment char_jaccard length_ratio only_min only_max addition_gap "
        "substitution_gap entity_one_sided ident_one_sided lexicon_one_sided negation_one_sided "
        "numbers_one_sided",
    )
)
SHORT_TOKENS = 16  # a detail only one of two prompts this short names is a different request
WINDOW_CHARS = 600  # guards read this much of a long prompt's head and of its tail
_ORDERED = frozenset({"unit", "currency"})  # lexicons whose values' order matters ("km to mi")


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the cached answer may be served; ``reason`` says why (``"ok"`` when it may)."""

    ok: bool
    score: float
    reason: str


def _swap(mine: Iterable[str], theirs: Iterable[str]) -> tuple[list[str], list[str]] | None:
    """Values only one text has, when *each* text has one: a substitution, not an addition."""
    a, b = sorted(set(mine) - set(theirs)), sorted(set(theirs) - set(mine))
    return (a, b) if a and b else None


def _short(a: Profile, b: Profile) -> bool:
    return max(len(a.tokens), len(b.tokens)) <= SHORT_TOKENS


def _all_numbers(p: Profile) -> frozenset[str]:
    return p.numbers | ({"1"} if p.weak_one else frozenset())


def _number_guard(a: Profile, b: Profile) -> str | None:
    """A changed number always refuses; a number only one text has refuses short prompts."""
    na, nb = _all_numbers(a), _all_numbers(b)
    if na == nb or (na ^ nb == {"1"} and (a.weak_one or b.weak_one)):
        return None
    if not (na - nb and nb - na) and not _short(a, b):
        return None
    only_a, only_b = ", ".join(sorted(na - nb)) or "none", ", ".join(sorted(nb - na)) or "none"
    return f"numbers differ: {only_a} vs {only_b}"


def _negation_guard(a: Profile, b: Profile) -> str | None:
    """Refuse when one text negates what the other asserts ("use recursion" vs "don't use
    recursion"); in short prompts, any negation only one of them has."""
    for mine, other in ((a, b), (b, a)):
        for word in mine.negated - other.negated:
            if word in other.content or (word == "not" and not other.negated):
                return f"negation differs: not {word}" if word != "not" else "negation differs"
    if bool(a.negated) != bool(b.negated) and _short(a, b):
        return "negation differs"
    return None


def _lexicon_guard(a: Profile, b: Profile) -> str | None:
    if a.lexicon == b.lexicon:
        return None  # the same values in the same order: nothing swapped, nothing reversed
    for (name, _), va, vb in zip(LEXICONS, a.lexicon, b.lexicon, strict=True):
        if va == vb:
            continue
        swap = _swap(va, vb)
        if swap:
            return f"{name} differs: {'/'.join(swap[0])} vs {'/'.join(swap[1])}"
        if name in _ORDERED and [v for v in va if v in vb] != [v for v in vb if v in va]:
            return f"{name} direction differs: {' → '.join(va)} vs {' → '.join(vb)}"
    return None


def _order_guard(a: Profile, b: Profile) -> str | None:
    """The two ends of a "to" swapped ("markdown to html" vs "html to markdown")."""
    for left, right in a.pairs:
        if (right, left) in b.pairs:
            return f"direction differs: {left} → {right} vs {right} → {left}"
    return None


def _quote_guard(a: Profile, b: Profile) -> str | None:
    for mine, other in ((a, b), (b, a)):
        for quote in mine.quotes:
            if not quote <= other.stems:
                return f"quoted text differs: {' '.join(sorted(quote - other.stems))}"
    return None


def _pair_guard(
    kind: str, find: Callable[[Profile, Profile], list[str]], a: Profile, b: Profile
) -> str | None:
    swap = _swap(find(a, b), find(b, a))
    return f"{kind} differs: {', '.join(swap[0])} vs {', '.join(swap[1])}" if swap else None


def hard_guards(a: Profile, b: Profile) -> str | None:
    """The first one-detail difference that forbids serving one text's answer to the other."""
    return (
        _negation_guard(a, b)
        or _number_guard(a, b)
        or _quote_guard(a, b)
        or _lexicon_guard(a, b)
        or _order_guard(a, b)
        or _pair_guard("entity", unmatched_entities, a, b)
        or _pair_guard("identifier", unmatched_idents, a, b)
    )


def _ratio(num: float, den: float) -> float:
    return num / den if den else 1.0


def features(a: Profile, b: Profile, similarity: float) -> list[float]:
    """The verifier's inputs, in ``FEATURES`` order."""
    only_a, only_b = len(a.content - b.content), len(b.content - a.content)
    shared, gap = len(a.content & b.content), 1.0 - similarity
    one_sided = (
        0
        if a.lexicon == b.lexicon
        else sum(bool(va) != bool(vb) for va, vb in zip(a.lexicon, b.lexicon, strict=True))
    )
    ents = len(unmatched_entities(a, b)) + len(unmatched_entities(b, a))
    idents = len(unmatched_idents(a, b)) + len(unmatched_idents(b, a))
    return [
        gap * (max(only_a, only_b) == 0),
        _ratio(shared, len(a.content | b.content)),
        _ratio(shared, min(len(a.content), len(b.content))),
        _ratio(len(a.trigrams & b.trigrams), len(a.trigrams | b.trigrams)),
        _ratio(min(len(a.tokens), len(b.tokens)), max(len(a.tokens), len(b.tokens))),
        float(min(only_a, only_b, 5)),
        float(min(max(only_a, only_b), 10)),
        gap * (min(only_a, only_b) == 0 < max(only_a, only_b)),
        gap * (min(only_a, only_b) > 0),
        float(min(ents, 3)),
        float(min(idents, 3)),
        float(one_sided),
        float(bool(a.negated) != bool(b.negated)),
        float(_all_numbers(a) != _all_numbers(b)),
    ]


def _window(text: str) -> tuple[str, str]:
    """(head and tail, which the guards read; what lies between, which must match exactly):
    long prompts are read the way the encoder reads them, and their middles compared."""
    if len(text) <= 2 * WINDOW_CHARS:
        return text, ""
    return f"{text[:WINDOW_CHARS]}\n{text[-WINDOW_CHARS:]}", text[WINDOW_CHARS:-WINDOW_CHARS]


def analyse(query: str, cached: str) -> tuple[Profile, Profile, str | None]:
    """Both prompts' profiles and the hard guards' refusal (``None``: no guard objects)."""
    (q_text, q_middle), (c_text, c_middle) = _window(query), _window(cached)
    a, b = profile(q_text), profile(c_text)
    if q_middle != c_middle:
        return a, b, "long prompts differ outside the guarded window"
    return a, b, hard_guards(a, b)


def exact_guards(query: str, cached: str) -> str | None:
    """The guards that are exact, whatever the wording: a changed number or version, a code
    identifier only one prompt names, or long prompts whose unguarded middles differ. The
    cross-encoder judges the rest (negation, names, scope), which word lists cannot."""
    (q_text, q_middle), (c_text, c_middle) = _window(query), _window(cached)
    if q_middle != c_middle:
        return "long prompts differ outside the guarded window"
    a, b = profile(q_text), profile(c_text)
    return _number_guard(a, b) or _pair_guard("identifier", unmatched_idents, a, b)


class CacheVerifier:
    """Hard guards, then a logistic regression: P(serving the cached answer is right)."""

    def __init__(
        self,
        coef: Sequence[float],
        intercept: float,
        mean: Sequence[float],
        scale: Sequence[float],
        threshold: float,
    ) -> None:
        """Features are standardised with ``mean`` / ``scale``, then weighted by ``coef``."""
        # standardise-and-weigh folded into one weight per feature and one bias: a 14-term
        # dot product in plain floats (numpy's per-call overhead is larger than the sum)
        terms = list(zip(mean, scale, coef, strict=True))
        self._weights = [float(c) / float(s) for _, s, c in terms]
        self._bias = float(intercept) - sum(float(m) * float(c) / float(s) for m, s, c in terms)
        self.threshold = threshold

    def _probability(self, a: Profile, b: Profile, similarity: float) -> float:
        x = features(a, b, similarity)
        z = self._bias + sum([v * w for v, w in zip(x, self._weights, strict=True)])
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def threshold_for(self, tier: str | None) -> float:
        """One decision threshold for every tier: the tiers move only the cosine."""
        return self.threshold

    def score(self, query: str, cached: str, similarity: float) -> float:
        """The verifier's probability, 0 when a hard guard refuses."""
        a, b, refused = analyse(query, cached)
        return 0.0 if refused else self._probability(a, b, similarity)

    def check(self, query: str, cached: str, similarity: float, tier: str | None = None) -> Verdict:
        """May the answer cached for ``cached`` be served to ``query``? (Any tier alike.)"""
        a, b, refused = analyse(query, cached)
        if refused:
            return Verdict(False, 0.0, refused)
        p = self._probability(a, b, similarity)
        if p < self.threshold:
            return Verdict(False, p, f"verifier score {p:.2f} < {self.threshold:.2f}")
        return Verdict(True, p, "ok")


def _verifier_from(raw: Any) -> CacheVerifier:
    if not isinstance(raw, dict) or raw.get("features") != list(FEATURES):
        raise ValueError(f"expected an object whose features are {list(FEATURES)}")
    coef, mean, scale = ([float(v) for v in raw["model"][k]] for k in ("coef", "mean", "scale"))
    if any(len(v) != len(FEATURES) for v in (coef, mean, scale)) or 0.0 in scale:
        raise ValueError("coef, mean and scale need one value per feature (scale non-zero)")
    intercept, threshold = float(raw["model"]["intercept"]), float(raw["threshold"])
    return CacheVerifier(coef, intercept, mean, scale, threshold)


def load_verifier(path: Path | None = None) -> CacheVerifier:
    """Load the verifier's coefficients (``None`` → the one bundled with semroute).

    Raises:
        ArtifactError: the file is missing, is not JSON, or does not hold a verifier.
    """
    source = path or BUNDLED_VERIFIER
    try:
        return _verifier_from(json.loads(source.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ArtifactError("cache verifier not found", path=source) from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"corrupt cache verifier: {exc}", path=source) from exc
