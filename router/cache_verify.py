"""Is serving a cached answer to this prompt right? The check that runs after the cosine search.

Cosine similarity is nearly blind to one changed detail ("TensorFlow 2.12" vs "2.13", "sort
ascending" vs "descending", "weather in Berlin" vs "in Munich"). ``CacheVerifier.check`` first
applies hard lexical guards (negation, numbers, quoted text, lexicon categories such as units,
languages, formats and opposite terms, direction, named entities, code identifiers), then a
logistic-regression verifier over pair features whose coefficients ship in
``router/data/cache_verifier.json`` (fitted by ``python -m training.fit_verifier``). Long
prompts are read like the encoder reads them (head and tail); what lies between must then be
identical. Pure Python and numpy, about 0.1–0.6 ms a check: no model call, no scikit-learn.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from router.errors import ArtifactError

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


# Word tables, one per line ("name = canon: synonym …; canon2; …"; indented lines continue).
# The categories before "negation" must agree when each text names a value ("python" vs
# "java"); each group of opposites is a category of its own, so only true opposites clash.
_SPEC = """
language = english; spanish: español espanol; french: français francais; german: deutsch;
  italian; portuguese; chinese: mandarin cantonese; japanese; korean; russian; arabic; hindi;
  dutch; swedish; polish; turkish; greek; hebrew; latin; vietnamese; thai
code = python: py; javascript: js; typescript: ts; java; kotlin; scala; c++: cpp; c#: csharp;
  f#; golang; rust; ruby; php; swift; perl; haskell; lua; matlab; julia; dart; elixir; sql;
  mysql; postgres: postgresql; sqlite; bash; zsh; powershell; html; css; json; yaml: yml; xml;
  csv; toml; markdown; pdf; docx; excel: xlsx; png; jpeg: jpg; webp; gif; svg; mp3; mp4; wav;
  git; svn; npm; yarn; pnpm; pip; conda; vim; emacs
unit = km: kilometer kilometers kilometre kilometres; mile: miles mi; meter: meters metre
  metres; foot: feet ft; inch: inches; cm; mm; kg: kilogram kilograms kilos; lb: lbs pound
  pounds; gram: grams; oz: ounce ounces; liter: liters litre litres; gallon: gallons; ml;
  celsius: centigrade; fahrenheit; kelvin; mph; kph; cup: cups; tbsp: tablespoon tablespoons;
  tsp: teaspoon teaspoons; metric; imperial; kb; mb; gb; tb; hour: hours; minute: minutes;
  second: seconds; day: days; week: weeks; month: months; year: years
currency = usd: $ dollar dollars; eur: € euro euros; gbp: £ sterling; jpy: ¥ yen; cny: yuan
  rmb; inr: ₹ rupee rupees; cad; aud; chf: franc francs; btc: bitcoin; eth: ethereum
time = now: current currently latest today todays recent recently nowadays this_week; tomorrow;
  yesterday; tonight; next_week; last_week; next_month; last_month; next_year; last_year
date = january; february; march; april; june; july; august; september; october; november;
  december; monday; tuesday; wednesday; thursday; friday; saturday; sunday
opposite = asc: ascending increasing; desc: descending decreasing reverse reversed
opposite = more: increase gain; less: decrease lose
opposite = max: maximum largest biggest highest; min: minimum smallest lowest fewest
opposite = best: top; worst
opposite = cheap: cheapest cheaper; expensive: priciest
opposite = before; after
opposite = buy: purchase; sell
opposite = import; export
opposite = upload; download
opposite = encrypt: encode; decrypt: decode
opposite = enable; disable
opposite = install; uninstall
opposite = start; stop
opposite = male: man men boy boys; female: woman women girl girls
opposite = hot; cold
opposite = formal; informal: casual
opposite = beginner: beginners novice; expert: experts advanced
opposite = pros: advantages benefits; cons: disadvantages drawbacks
opposite = brief: short concise; detailed: detail long
opposite = sum: plus addition; product: multiply multiplication; difference: subtract minus;
  quotient: divide division
opposite = uppercase; lowercase
opposite = input; output
opposite = public; private
opposite = sync: synchronous; async: asynchronous
opposite = north; south; east; west
opposite = synonym: synonyms; antonym: antonyms
opposite = light; dark
opposite = solved; unsolved
opposite = local; remote
opposite = daily; weekly; monthly; yearly: annual
opposite = nearest: closest nearby; cheapest; fastest: quickest
opposite = morning; evening; night
negation = not no never none nobody nothing nowhere neither nor without unable non dont doesnt
  didnt isnt arent cant couldnt shouldnt wouldnt wont
stop = a an the of in on at to for from by with about as into over is are was were be been
  being am do does did doing have has had i me my we our you your he she it its they them their
  this that these those what which who whom whose how why when where can could should would
  will shall may might must and or but if then so than there here some any please tell give
  show explain find get make let s also just very really up out via vs versus
number = 0: zero; 1: one; 2: two; 3: three third; 4: four fourth; 5: five fifth; 6: six sixth;
  7: seven seventh; 8: eight eighth; 9: nine ninth; 10: ten tenth; 11: eleven; 12: twelve
  dozen; 13: thirteen; 14: fourteen; 15: fifteen; 16: sixteen; 17: seventeen; 18: eighteen;
  19: nineteen; 20: twenty; 30: thirty; 40: forty; 50: fifty; 60: sixty; 70: seventy;
  80: eighty; 90: ninety
nation = france: french; germany: german; spain: spanish; italy: italian; china: chinese;
  japan: japanese; america: american us usa; britain: british uk; england: english; russia:
  russian; india: indian; canada: canadian; mexico: mexican; brazil: brazilian; korea: korean;
  greece: greek; netherlands: dutch; sweden: swedish; turkey: turkish; ireland: irish
"""


def _parse(spec: str) -> list[tuple[str, dict[str, str]]]:
    """Each table line → (name, {word: canon}); a canon maps to itself, a bare word too."""
    tables = []
    for line in re.sub(r"\n\s+", " ", spec).strip().splitlines():
        name, _, body = line.partition(" = ")
        table: dict[str, str] = {}
        for group in body.split(";"):
            canon, colon, words = group.partition(":")
            for word in [*canon.split(), *words.split()] if colon else canon.split():
                table[word] = canon.strip() if colon else word
        tables.append((name, table))
    return tables


_TABLES = _parse(_SPEC)
_AUX = ("negation", "stop", "number", "nation")
LEXICONS = tuple((name, table) for name, table in _TABLES if name not in _AUX)
_INDEX: dict[str, list[tuple[int, str]]] = {}  # word → [(LEXICONS position, canon)]
for _at, (_, _table) in enumerate(LEXICONS):
    for _word, _canon in _table.items():
        _INDEX.setdefault(_word, []).append((_at, _canon))
_TABLE = dict(_TABLES)
NEGATIONS, STOPWORDS = frozenset(_TABLE["negation"]), frozenset(_TABLE["stop"])
_DEMONYMS = _TABLE["nation"]
_NUM = {word: int(value) for word, value in _TABLE["number"].items() if word.isalpha()}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
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
_ORDERED = frozenset({"unit", "currency"})


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
        if tok in _NUM or (tok in _SCALES and run):
            run += 1
            if tok in _SCALES:
                total, current = total + max(current, 1) * _SCALES[tok], 0
            else:
                current += _NUM[tok]
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
    return word in STOPWORDS or word in NEGATIONS or word in _INDEX


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
        for i, canon in _INDEX.get(gram) or _INDEX.get(_stem(gram)) or []:
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


def _swap(mine: Iterable[str], theirs: Iterable[str]) -> tuple[list[str], list[str]] | None:
    """Values only one text has, when *each* text has one: a substitution, not an addition."""
    a, b = sorted(set(mine) - set(theirs)), sorted(set(theirs) - set(mine))
    return (a, b) if a and b else None


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
    nation = _DEMONYMS.get(entity)
    if nation and any(_DEMONYMS.get(t) == nation for t in other.token_set):
        return True
    return any(
        min(len(t), len(entity)) >= 3 and (t.startswith(entity) or entity.startswith(t))
        for t in other.token_set
    )


def unmatched_entities(mine: Profile, other: Profile) -> list[str]:
    """Named entities of ``mine`` that ``other`` does not mention in any spelling."""
    covered = _acronym_cover(mine.parts, other.token_set)
    return sorted(e for e in mine.entities if e not in covered and not _entity_found(e, other))


def unmatched_idents(mine: Profile, other: Profile) -> list[str]:
    """Code identifiers / domains of ``mine`` whose parts ``other`` does not all contain."""
    return sorted(i for i in mine.idents if not set(_TOKEN.findall(i)) <= other.token_set)


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
    for (name, _), va, vb in zip(LEXICONS, a.lexicon, b.lexicon, strict=True):
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
    one_sided = sum(bool(va) != bool(vb) for va, vb in zip(a.lexicon, b.lexicon, strict=True))
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
        self._coef = np.asarray(coef, dtype=np.float64)
        self._mean = np.asarray(mean, dtype=np.float64)
        self._scale = np.asarray(scale, dtype=np.float64)
        self._intercept = float(intercept)
        self.threshold = threshold

    def _probability(self, a: Profile, b: Profile, similarity: float) -> float:
        x = np.asarray(features(a, b, similarity))
        z = float(((x - self._mean) / self._scale) @ self._coef) + self._intercept
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def score(self, query: str, cached: str, similarity: float) -> float:
        """The verifier's probability alone, guards not applied."""
        a, b, _ = analyse(query, cached)
        return self._probability(a, b, similarity)

    def check(self, query: str, cached: str, similarity: float) -> Verdict:
        """May the answer cached for ``cached`` be served to ``query``?"""
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
