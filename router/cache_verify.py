"""Is serving a cached answer to this prompt right? The check that runs after the cosine search.

Cosine similarity is nearly blind to one changed detail ("TensorFlow 2.12" vs "2.13", "sort
ascending" vs "descending", "weather in Berlin" vs "in Munich"). ``CacheVerifier.check`` first
applies hard lexical guards (numbers, negation, quoted text, lexicon categories such as units,
languages and time words, named entities, code identifiers), then a logistic-regression verifier
over pair features whose coefficients ship in ``router/data/cache_verifier.json``. Pure Python
and numpy: no model call, no scikit-learn at run time.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from router.errors import ArtifactError

BUNDLED_VERIFIER = Path(__file__).resolve().parent / "data" / "cache_verifier.json"
FEATURES = (
    "cosine",
    "jaccard",
    "containment",
    "char_jaccard",
    "length_ratio",
    "only_min",
    "only_max",
    "entity_one_sided",
    "ident_one_sided",
    "lexicon_one_sided",
)


def _lexicon(spec: str) -> dict[str, str]:
    """``"canon: word word; canon2: word"`` → {word: canon} (the canon maps to itself)."""
    out: dict[str, str] = {}
    for group in spec.split(";"):
        canon, _, words = group.partition(":")
        for word in [canon, *words.split()]:
            out[word.strip()] = canon.strip()
    return out


# Categories whose values must agree when both texts name one ("python" vs "java").
LEXICONS: dict[str, dict[str, str]] = {
    "language": _lexicon(
        "english: en; spanish: español espanol castilian; french: français francais; german: "
        "deutsch; italian; portuguese; chinese: mandarin cantonese; japanese; korean; russian; "
        "arabic; hindi; dutch; swedish; polish; turkish; greek; hebrew; latin; vietnamese; thai"
    ),
    "code": _lexicon(
        "python: py python3; javascript: js node nodejs; typescript: ts; java; kotlin; scala; "
        "c++: cpp; c#: csharp; golang; rust; ruby; php; swift; perl; haskell; lua; matlab; "
        "julia; dart; elixir; sql: mysql postgres postgresql sqlite; bash: shell sh zsh; "
        "powershell; html; css; json; yaml: yml; xml; csv; toml; markdown: md; excel: xlsx"
    ),
    "unit": _lexicon(
        "km: kilometer kilometers kilometre kilometres; mile: miles mi; meter: meters metre "
        "metres; foot: feet ft; inch: inches; cm: centimeter centimeters; mm: millimeter; kg: "
        "kilogram kilograms kilo kilos; lb: lbs pound pounds; gram: grams; oz: ounce ounces; "
        "liter: liters litre litres; gallon: gallons gal; ml: milliliter milliliters; celsius: "
        "centigrade; fahrenheit; kelvin; mph; kph; cup: cups; tbsp: tablespoon tablespoons; "
        "tsp: teaspoon teaspoons; metric; imperial; kb; mb; gb; tb; hour: hours hr hrs; "
        "minute: minutes mins; second: seconds secs; day: days; week: weeks; month: months; "
        "year: years"
    ),
    "currency": _lexicon(
        "usd: $ dollar dollars; eur: € euro euros; gbp: £ sterling; jpy: ¥ yen; cny: yuan rmb; "
        "inr: ₹ rupee rupees; cad; aud; chf: franc francs; btc: bitcoin; eth: ether ethereum"
    ),
    "time": _lexicon(
        "now: current currently latest today todays recent recently nowadays this_week; "
        "tomorrow; yesterday; tonight; next_week; last_week; next_month; last_month; next_year; "
        "last_year; january; february; march; april; june; july; august; september; october; "
        "november; december; monday; tuesday; wednesday; thursday; friday; saturday; sunday"
    ),
    "opposite": _lexicon(
        "asc: ascending increasing; desc: descending decreasing reverse reversed; more: increase "
        "gain; less: decrease lose; max: maximum largest biggest highest most; min: minimum "
        "smallest lowest least fewest; best: top; worst; cheap: cheapest cheaper affordable; "
        "expensive: priciest; before; after; buy: purchase; sell; import; export; upload; "
        "download; encrypt: encode encoding; decrypt: decode decoding; enable; disable; add: "
        "install; remove: uninstall delete; start; stop; male: man men boy; female: woman "
        "women girl; hot; cold; formal; informal: casual; beginner: beginners novice; expert: "
        "advanced; pros: advantages benefits; cons: disadvantages drawbacks risks; brief: "
        "short concise; detailed: detail long; sum: plus addition; product: multiply times "
        "multiplication; difference: subtract minus; quotient: divide division; uppercase; "
        "lowercase; input; output; public; private; sync: synchronous; async: asynchronous; "
        "north; south; east; west; nearest: closest near nearby; fastest: quickest"
    ),
}
NEGATIONS = frozenset(
    "not no never none nobody nothing nowhere neither nor without cannot unable non except "
    "excluding exclude isnt arent doesnt dont didnt cant wont shouldnt wouldnt couldnt".split()
)
STOPWORDS = frozenset(
    "a an the of in on at to for from by with about as into over is are was were be been being "
    "am do does did doing have has had i me my we our you your he she it its they them their "
    "this that these those what which who whom whose how why when where can could should would "
    "will shall may might must and or but if then so than there here some any please tell give "
    "show explain find get make let s also just very really up out via vs versus".split()
)
_STARTERS = STOPWORDS | frozenset("is are list define write create name compare".split())
_SMALL = "zero one two three four five six seven eight nine ten eleven twelve thirteen "
_SMALL += "fourteen fifteen sixteen seventeen eighteen nineteen"
_NUM_WORDS = {w: i for i, w in enumerate(_SMALL.split())} | {"dozen": 12}
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUM_WORDS |= {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_ORDINALS = "third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()
_NUM_WORDS |= {w: 3 + i for i, w in enumerate(_ORDINALS)}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_DEMONYMS = _lexicon(
    "france: french; germany: german; spain: spanish; italy: italian; china: chinese; japan: "
    "japanese; america: american; britain: british uk; england: english; russia: russian; "
    "india: indian; canada: canadian; mexico: mexican; brazil: brazilian; korea: korean; "
    "greece: greek; portugal: portuguese; netherlands: dutch holland; sweden: swedish; turkey: "
    "turkish; ireland: irish; poland: polish; egypt: egyptian; australia: australian"
)
_TOKEN = re.compile(r"[^\W_]+(?:\+\+|#)?|[$€£¥₹]")
_DIGITS = re.compile(r"\d+(?:[.:]\d+)*")
_QUOTED = re.compile(r"(?<!\w)[\"'“‘`]([^\"'“”‘’`]{1,80})[\"'”’`](?!\w)")
_WORDS = re.compile(r"[^\s\"'“”‘’`()\[\]{},;!?]+")
_CAMEL = re.compile(r"[a-z][A-Z]|[A-Z]{2}[a-z]")
_IDENT = re.compile(r"\w[\w-]*(?:(?:\.|::|->)\w+)+|\w+_\w+|\w+\(\)")


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the cached answer may be served; ``reason`` says why (``"ok"`` when it may)."""

    ok: bool
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class Profile:
    """What the guards and features need from one text, computed once per text."""

    tokens: tuple[str, ...]
    token_set: frozenset[str]
    parts: tuple[str, ...]  # tokens split at camelCase boundaries, for acronyms
    content: frozenset[str]
    numbers: frozenset[str]
    weak_one: bool  # the only trace of "1" is the word "one" (often a pronoun)
    negated: bool
    quotes: tuple[str, ...]
    entities: frozenset[str]
    idents: frozenset[str]
    lexicon: dict[str, tuple[str, ...]]
    flat: str  # lowercase words joined by single spaces
    trigrams: frozenset[str]


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix, keep in (("ing", 5), ("ed", 4), ("es", 4), ("s", 3)):
        if word.endswith(suffix) and len(word) > keep and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _spoken_numbers(tokens: Iterable[str]) -> tuple[set[str], bool]:
    """Written-out numbers ("twenty one", "two hundred") → digit strings; ``one`` alone is weak."""
    found: set[str] = set()
    weak, run, total, current = False, [], 0, 0
    for tok in [*tokens, ""]:
        if tok in _NUM_WORDS or (tok in _SCALES and run):
            run.append(tok)
            if tok in _SCALES:
                total, current = total + max(current, 1) * _SCALES[tok], 0
            else:
                current += _NUM_WORDS[tok]
            continue
        if run == ["one"]:
            weak = True
        elif run:
            found.add(str(total + current))
        run, total, current = [], 0, 0
    return found, weak


def _digit_numbers(text: str) -> set[str]:
    out: set[str] = set()
    for match in _DIGITS.findall(re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)):
        out.add(match if "." in match or ":" in match else str(int(match)))
    return out


def _entities(text: str) -> frozenset[str]:
    """Proper nouns, acronyms and camelCase names (a sentence-initial common word is not one)."""
    out: set[str] = set()
    for sentence in re.split(r"(?<=[.!?:])\s+|\n", text):
        words = [w.strip(".,!?:;-") for w in _WORDS.findall(sentence)]
        for i, word in enumerate(w for w in words if w):
            if not (word[0].isupper() or _CAMEL.search(word)) or word in ("I", "A"):
                continue
            low = word.lower()
            if i == 0 and (low in _STARTERS or not (word.isupper() or _CAMEL.search(word))):
                if low in _STARTERS or low in _NUM_WORDS or _is_lexical(low):
                    continue
            out.update(t for t in _TOKEN.findall(low) if not t.isdigit())
    return frozenset(out)


def _is_lexical(word: str) -> bool:
    return any(word in lex for lex in LEXICONS.values()) or word in NEGATIONS


def _lexicon_values(tokens: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    grams = [*tokens, *(f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False))]
    out: dict[str, tuple[str, ...]] = {}
    for name, lex in LEXICONS.items():
        values = tuple(dict.fromkeys(lex[g] for g in grams if g in lex))
        if values:
            out[name] = values
    return out


@lru_cache(maxsize=4096)
def profile(text: str) -> Profile:
    """Analyse one text (cached: the cached side of a check repeats)."""
    low = text.lower().replace("’", "'")
    low = re.sub(r"n't\b", " not", low).replace("cannot", "can not")
    tokens = tuple(_TOKEN.findall(low))
    parts = tuple(
        p.lower()
        for w in _TOKEN.findall(text)
        for p in re.findall(r"[A-Z]?[^A-Z]+|[A-Z]+(?![a-z])", w)
    )
    spoken, weak = _spoken_numbers(tokens)
    numbers = _digit_numbers(low) | spoken
    flat = " ".join(tokens)
    padded = f" {flat} "
    return Profile(
        tokens=tokens,
        token_set=frozenset(tokens),
        parts=parts,
        content=frozenset(_stem(t) for t in tokens if t not in STOPWORDS and not t.isdigit()),
        numbers=frozenset(numbers),
        weak_one=weak and "1" not in numbers,
        negated=any(t in NEGATIONS for t in tokens),
        quotes=tuple(" ".join(_TOKEN.findall(q.lower())) for q in _QUOTED.findall(text)),
        entities=_entities(text),
        idents=frozenset(
            m.lower() for m in _IDENT.findall(text) if not re.fullmatch(r"(\w\.)+\w?", m)
        ),
        lexicon=_lexicon_values(tokens),
        flat=flat,
        trigrams=frozenset(padded[i : i + 3] for i in range(len(padded) - 2)),
    )


def _swap(mine: Iterable[str], theirs: Iterable[str]) -> tuple[list[str], list[str]] | None:
    """Values only one text has, when *each* text has one: a substitution, not an addition."""
    a, b = sorted(set(mine) - set(theirs)), sorted(set(theirs) - set(mine))
    return (a, b) if a and b else None


def _acronym_cover(parts: tuple[str, ...], tokens: Iterable[str]) -> set[str]:
    """Parts of this text spelled out by an acronym of the other ("new york city" ← "nyc")."""
    initials, covered = "".join(p[0] for p in parts), set()
    for tok in tokens:
        if 2 <= len(tok) <= 6 and tok.isalpha() and tok not in STOPWORDS:
            at = initials.find(tok)
            while at >= 0:
                covered.update(parts[at : at + len(tok)])
                at = initials.find(tok, at + 1)
    return covered


def _entity_found(entity: str, other: Profile) -> bool:
    if entity in other.token_set or entity in _acronym_cover(other.parts, [entity]):
        return True
    nation = _DEMONYMS.get(entity)
    if nation and any(_DEMONYMS.get(t) == nation for t in other.token_set):
        return True
    return any(
        min(len(t), len(entity)) >= 3
        and (t.startswith(entity) or entity.startswith(t))
        and min(len(t), len(entity)) >= 0.6 * max(len(t), len(entity))
        for t in other.token_set
    )


def unmatched_entities(mine: Profile, other: Profile) -> list[str]:
    covered = _acronym_cover(mine.parts, other.token_set)
    return sorted(e for e in mine.entities if e not in covered and not _entity_found(e, other))


def unmatched_idents(mine: Profile, other: Profile) -> list[str]:
    out = []
    for ident in mine.idents:
        words = _TOKEN.findall(ident)
        if f" {' '.join(words)} " not in f" {other.flat} " and not set(words) <= other.token_set:
            out.append(ident)
    return sorted(out)


def _numbers(p: Profile) -> frozenset[str]:
    return p.numbers | ({"1"} if p.weak_one else frozenset())


def _number_guard(a: Profile, b: Profile) -> str | None:
    na, nb = _numbers(a), _numbers(b)
    if na == nb or (na ^ nb == {"1"} and (a.weak_one or b.weak_one)):
        return None
    show = lambda s: ", ".join(sorted(s)) or "none"  # noqa: E731
    return f"numbers differ: {show(na - nb)} vs {show(nb - na)}"


def _lexicon_guard(a: Profile, b: Profile) -> str | None:
    for name in LEXICONS:
        va, vb = a.lexicon.get(name, ()), b.lexicon.get(name, ())
        swap = _swap(va, vb)
        if swap:
            return f"{name} differs: {'/'.join(swap[0])} vs {'/'.join(swap[1])}"
        shared = [v for v in va if v in vb]
        if name in ("unit", "currency") and shared != [v for v in vb if v in va]:
            return f"{name} direction differs: {' → '.join(va)} vs {' → '.join(vb)}"
    return None


def _quote_guard(a: Profile, b: Profile) -> str | None:
    for mine, other in ((a, b), (b, a)):
        for quote in mine.quotes:
            if quote and f" {quote} " not in f" {other.flat} ":
                return f"quoted text differs: '{quote}'"
    return None


def _pair_guard(
    kind: str, find: Callable[[Profile, Profile], list[str]], a: Profile, b: Profile
) -> str | None:
    swap = _swap(find(a, b), find(b, a))
    return f"{kind} differs: {', '.join(swap[0])} vs {', '.join(swap[1])}" if swap else None


def hard_guards(a: Profile, b: Profile) -> str | None:
    """The first one-detail difference that forbids serving one text's answer to the other."""
    if a.negated != b.negated:
        return "negation differs"
    return (
        _number_guard(a, b)
        or _quote_guard(a, b)
        or _lexicon_guard(a, b)
        or _pair_guard("entity", unmatched_entities, a, b)
        or _pair_guard("identifier", unmatched_idents, a, b)
    )


def _ratio(num: float, den: float) -> float:
    return num / den if den else 1.0


def features(a: Profile, b: Profile, similarity: float) -> list[float]:
    """The verifier's inputs, in ``FEATURES`` order."""
    only_a, only_b = len(a.content - b.content), len(b.content - a.content)
    shared = len(a.content & b.content)
    one_sided = sum((k in a.lexicon) != (k in b.lexicon) for k in LEXICONS)
    ents = len(unmatched_entities(a, b)) + len(unmatched_entities(b, a))
    idents = len(unmatched_idents(a, b)) + len(unmatched_idents(b, a))
    return [
        similarity,
        _ratio(shared, len(a.content | b.content)),
        _ratio(shared, min(len(a.content), len(b.content))),
        _ratio(len(a.trigrams & b.trigrams), len(a.trigrams | b.trigrams)),
        _ratio(min(len(a.tokens), len(b.tokens)), max(len(a.tokens), len(b.tokens))),
        float(min(only_a, only_b, 5)),
        float(min(max(only_a, only_b), 10)),
        float(min(ents, 3)),
        float(min(idents, 3)),
        float(one_sided),
    ]


class CacheVerifier:
    """Hard guards, then a logistic regression: P(serving ``cached``'s answer is right)."""

    def __init__(
        self,
        coef: list[float],
        intercept: float,
        mean: list[float],
        scale: list[float],
        threshold: float,
    ) -> None:
        self._coef = np.asarray(coef, dtype=np.float64)
        self._mean = np.asarray(mean, dtype=np.float64)
        self._scale = np.asarray(scale, dtype=np.float64)
        self._intercept = float(intercept)
        self.threshold = float(threshold)

    def score(self, query: str, cached: str, similarity: float) -> float:
        """The verifier's probability alone (no guards)."""
        x = np.asarray(features(profile(query), profile(cached), similarity))
        z = float(((x - self._mean) / self._scale) @ self._coef) + self._intercept
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def check(self, query: str, cached: str, similarity: float) -> Verdict:
        """Verdict on serving the answer cached for ``cached`` to ``query``."""
        refused = hard_guards(profile(query), profile(cached))
        if refused:
            return Verdict(False, 0.0, refused)
        p = self.score(query, cached, similarity)
        if p < self.threshold:
            return Verdict(False, p, f"verifier score {p:.2f} < {self.threshold:.2f}")
        return Verdict(True, p, "ok")


def _verifier_from(raw: Any) -> CacheVerifier:
    if not isinstance(raw, dict) or raw.get("features") != list(FEATURES):
        raise ValueError(f"expected an object with features {list(FEATURES)}")
    model = raw["model"]
    arrays = [[float(v) for v in model[k]] for k in ("coef", "mean", "scale")]
    if any(len(arr) != len(FEATURES) for arr in arrays) or 0.0 in arrays[2]:
        raise ValueError("coef/mean/scale must hold one non-zero value per feature")
    return CacheVerifier(
        arrays[0], float(model["intercept"]), arrays[1], arrays[2], float(raw["threshold"])
    )


def load_verifier(path: Path | None = None) -> CacheVerifier:
    """Load the verifier's coefficients (``None`` → the one bundled with semroute).

    Raises:
        ArtifactError: the file is missing, is not JSON, or does not hold a verifier.
    """
    source = path or BUNDLED_VERIFIER
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
        return _verifier_from(raw)
    except FileNotFoundError:
        raise ArtifactError("cache verifier not found", path=source) from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"corrupt cache verifier: {exc}", path=source) from exc
