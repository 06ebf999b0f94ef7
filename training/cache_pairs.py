"""One-detail counterexamples and safe rewrites generated from real prompts, for the cache verifier.

Each source prompt (the repository's licence-clean routing files: the public train split, the
hand-labelled arena prompts and the prompts written for the project) yields pairs ``(a, b)``
where ``b`` either changes one detail that changes the answer (``duplicate: false``: a number,
a year, a month, a name, a unit, a negation, an opposite word, a scope qualifier, a swapped
direction) or says the same thing another way (``duplicate: true``: a near repeat with other
casing, punctuation, a typo or a politeness wrapper; a templated paraphrase of its opening).
Deterministic for a seed; the source prompt's hash puts all of its pairs on one side of a split.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from router.config import PROJECT_ROOT

SOURCE_FILES = (
    "public_train.jsonl",
    "realistic_labeled.jsonl",
    "seed_prompts.jsonl",
    "seed_prompts_2.jsonl",
)
MULTILINGUAL_SEEDS = "cache_seed_multilingual.jsonl"  # written for the project, 6 languages
MULTILINGUAL_ROUNDS = 4  # each seed mutated this many times: they are few
MAX_CHARS = 200  # cache traffic worth verifying is short; long prompts are guarded by windows

Mutation = Callable[[str, random.Random], str | None]

_ANTONYMS = [
    *("open closed", "before after", "increase decrease", "add remove", "include exclude"),
    *("enable disable", "first last", "best worst", "cheap expensive", "hot cold"),
    *("safe dangerous", "true false", "allowed forbidden", "young old", "early late"),
    *("minimum maximum", "start stop", "buy sell", "import export", "upload download"),
    *("win lose", "rise fall", "above below", "inside outside", "north south", "east west"),
    *("positive negative", "legal illegal", "healthy unhealthy", "fast slow", "big small"),
    *("more less", "longest shortest", "highest lowest", "male female", "public private"),
    *("input output", "ascending descending", "upper lower", "light dark", "easy hard"),
    *("strong weak", "wet dry", "heavy light", "rich poor", "success failure", "love hate"),
    *("eat avoid", "accept reject", "encrypt decrypt", "push pull", "left right"),
    *("largest smallest", "newest oldest", "cheapest priciest", "summer winter"),
]
_ANTONYMS += [
    *("good bad", "on off", "like dislike", "high low", "up down", "activate deactivate"),
    *("support oppose", "pass fail", "full empty", "true false", "always never", "all none"),
    *("advantages disadvantages", "benefits risks", "allow block", "join leave", "arrive depart"),
]
# The same opposites in the languages the written trap set also uses (German, French,
# Spanish, Portuguese, Italian, Dutch), for the multilingual seed prompts.
_ANTONYMS += [
    *("geöffnet geschlossen", "offen geschlossen", "einschalten ausschalten", "gut schlecht"),
    *("aktiviere deaktiviere", "Vorteile Nachteile", "mit ohne", "vor nach", "kaufen verkaufen"),
    *("erhöhe senke", "erlaubt verboten", "essen meiden", "warm kalt", "großer kleiner"),
    *("ouvert fermé", "activer désactiver", "avantages inconvénients", "bon mauvais"),
    *("avec sans", "avant après", "augmenter diminuer", "acheter vendre", "allumer éteindre"),
    *("manger éviter", "autorisé interdit", "chaud froid", "abierto cerrado", "comprar vender"),
    *("activar desactivar", "Ventajas Desventajas", "bueno malo", "subir bajar", "con sin"),
    *("encender apagar", "comer evitar", "permitido prohibido", "más menos", "aberta fechada"),
    *("ativar desativar", "vantagens desvantagens", "bom ruim", "quente frio", "aumentar diminuir"),
    *("ligar desligar", "aperto chiuso", "attivare disattivare", "vantaggi svantaggi"),
    *("buono cattivo", "fredda calda", "accendere spegnere", "open gesloten", "aan uit"),
    *("voordelen nadelen", "goed slecht", "kopen verkopen", "meer minder", "met zonder"),
]
ANTONYMS = {
    w.lower(): o.lower() for pair in _ANTONYMS for w, o in [pair.split(), pair.split()[::-1]]
}
_SYNONYMS = [
    *("fix repair", "car vehicle", "start begin", "big large", "quick fast", "tips advice"),
    *("kid child", "movie film", "shop store", "doctor physician", "picture photo"),
    *("error mistake", "choose pick", "need require", "help assist", "show display"),
    *("create make", "get obtain", "buy purchase", "ideas suggestions", "simple easy"),
    *("explain describe", "quickly fast", "steps instructions", "correct right", "trip journey"),
]
SYNONYMS = {w: o for pair in _SYNONYMS for w, o in [pair.split(), pair.split()[::-1]]}
_SWAPS = [
    "python java javascript rust golang c++ ruby typescript kotlin swift sql bash",
    "km miles meters feet kg pounds celsius fahrenheit liters gallons inches centimeters",
    "dollars euros pounds yen rupees",
    "january february march april may june july august september october november december",
    "monday tuesday wednesday thursday friday saturday sunday",
    "english spanish french german italian chinese japanese russian arabic hindi portuguese",
    "json yaml xml csv markdown html pdf excel",
    "windows linux macos android ios",
    "cat dog horse rabbit parrot hamster",
    "breakfast lunch dinner",
    "morning evening night afternoon",
    "daily weekly monthly yearly",
]
SWAP_GROUPS = {w: group.split() for group in _SWAPS for w in group.split()}
SCOPES = [
    *("in Europe", "for children", "for beginners", "on Windows", "in 2019", "for a small team"),
    *("without sugar", "per month", "in the UK", "for dogs", "during pregnancy", "at night"),
    *("for a vegetarian", "on a budget", "in winter", "for seniors", "in under 5 minutes"),
    *("in the southern hemisphere", "for a Mac", "using only the standard library"),
]
NEGATE = [
    (r"\b(is|are|was|were|can|should|does|do|did|will|would|could)\b", r"\1 not"),
    (r"\b(not|never|no)\s+", ""),
    (r"\bwith\b", "without"),
    (r"\bwithout\b", "with"),
]
OPENERS = [
    ("how do i", ["how can i", "what's the way to", "how to", "how should i"]),
    ("how to", ["how do i", "how can i", "what is the best way to"]),
    ("what is", ["what's", "tell me what is", "can you tell me what is"]),
    ("what's", ["what is", "tell me what's"]),
    ("write", ["please write", "can you write", "could you write", "i need you to write"]),
    ("explain", ["please explain", "can you explain", "help me understand", "describe"]),
    ("give me", ["provide", "can you give me", "i'd like"]),
    ("can you", ["could you", "would you", "please"]),
    ("summarize", ["please summarize", "give me a summary of", "sum up"]),
    ("list", ["please list", "can you list", "give me a list of"]),
]
WRAPPERS = [
    "{}",
    "Quick question: {}",
    "{} Thanks!",
    "Hey, {}",
    "{} please",
    "I was wondering, {}",
    "{} Thank you.",
    "Hi! {}",
    "Please help: {}",
    "{} (asking for a friend)",
]


def _sub_once(
    pattern: str, text: str, replace: Callable[[re.Match[str]], str | None], rng: random.Random
) -> str | None:
    matches = list(re.finditer(pattern, text))
    rng.shuffle(matches)
    for m in matches:
        new = replace(m)
        if new is not None and new != m.group(0):
            return text[: m.start()] + new + text[m.end() :]
    return None


def swap_number(text: str, rng: random.Random) -> str | None:
    def other(m: re.Match[str]) -> str:
        n = int(m.group(0))
        if 1900 <= n <= 2100:
            return str(n + rng.choice([-3, -2, -1, 1, 2, 5]))
        return str(rng.choice([n + 1, max(n - 1, 0), n * 2, n + 10, n * 10]))

    return _sub_once(r"(?<![\w.])\d{1,4}(?![\w.])", text, other, rng)


def swap_group_word(text: str, rng: random.Random) -> str | None:
    def other(m: re.Match[str]) -> str | None:
        word = m.group(0)
        group = SWAP_GROUPS.get(word.lower())
        if not group:
            return None
        new = rng.choice([w for w in group if w != word.lower()])
        return new.capitalize() if word[0].isupper() else new

    return _sub_once(r"[A-Za-z+]+", text, other, rng)


def _table_swap(table: dict[str, str]) -> Mutation:
    def swap(text: str, rng: random.Random) -> str | None:
        def other(m: re.Match[str]) -> str | None:
            word = m.group(0)
            new = table.get(word.lower())
            if new is None:
                return None
            return new.capitalize() if word[0].isupper() else new

        return _sub_once(r"[^\W\d_]+", text, other, rng)

    return swap


swap_antonym = _table_swap(ANTONYMS)
synonym = _table_swap(SYNONYMS)


def _plain(text: str) -> str:
    """Accents, inverted marks and closing punctuation gone: how people retype a question."""
    bare = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in bare if not unicodedata.combining(c))
    return bare.replace("¿", "").replace("¡", "").rstrip(" ?!.").lower()


def negate(text: str, rng: random.Random) -> str | None:
    for pattern, repl in rng.sample(NEGATE, len(NEGATE)):
        new = re.sub(pattern, repl, text, count=1, flags=re.IGNORECASE)
        if new != text:
            return new
    return None


def add_scope(text: str, rng: random.Random) -> str | None:
    if rng.random() < 0.5:  # always applicable: half the time it stands aside for the others
        return None
    body = text.rstrip()
    end = body[-1] if body and body[-1] in "?.!" else ""
    return f"{body[: len(body) - len(end)]} {rng.choice(SCOPES)}{end}"


def make_entity_swap(pool: Sequence[str]) -> Mutation:
    """Another proper name (from the corpus) in place of one: "Berlin" → "Lisbon"."""

    def swap(text: str, rng: random.Random) -> str | None:
        def other(m: re.Match[str]) -> str | None:
            if m.start() == 0 or text[m.start() - 2 : m.start()].strip() in ".?!":
                return None
            return rng.choice([p for p in pool if p != m.group(0)][:400])

        return _sub_once(r"\b[A-Z][a-z]{2,}\b", text, other, rng)

    return swap


def make_word_swap(pool: Sequence[str]) -> Mutation:
    """Another content word in place of one ("capital of peru" → "capital of wine")."""

    def swap(text: str, rng: random.Random) -> str | None:
        def other(m: re.Match[str]) -> str | None:
            return rng.choice(pool) if m.group(0).lower() in pool else None

        return _sub_once(r"\b[a-z]{4,}\b", text, other, rng)

    return swap


_FUNCTION = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "is",
        "are",
        "be",
        "it",
        "this",
        "that",
    ]
)


def swap_direction(text: str, rng: random.Random) -> str | None:
    """The two ends of "x to y" / "x into y" / "x than y" swapped."""
    for m in re.finditer(r"\b([A-Za-z]{2,}) (to|into|than) ([A-Za-z]{2,})\b", text):
        left, right = m.group(1), m.group(3)
        if left != right and not {left.lower(), right.lower()} & _FUNCTION:
            return text[: m.start()] + f"{right} {m.group(2)} {left}" + text[m.end() :]
    return None


def typo(text: str, rng: random.Random) -> str | None:
    words = [m for m in re.finditer(r"[A-Za-z]{5,}", text)]
    if not words:
        return None
    m = rng.choice(words)
    w, i = m.group(0), rng.randrange(1, len(m.group(0)) - 2)
    new = rng.choice([w[:i] + w[i + 1] + w[i] + w[i + 2 :], w[:i] + w[i + 1 :]])
    return text[: m.start()] + new + text[m.end() :]


def near_repeat(text: str, rng: random.Random) -> str | None:
    ops: list[Callable[[str], str]] = [
        str.lower,
        lambda t: t.rstrip("?.! ") if t.rstrip()[-1:] in "?.!" else t.rstrip() + "?",
        lambda t: re.sub(r"\s+", "  ", t, count=1),
        lambda t: t[:1].swapcase() + t[1:],
        lambda t: rng.choice(WRAPPERS).format(t),
        lambda t: t.replace("don't", "do not").replace("can't", "cannot").replace("'s ", " is "),
        _plain,
    ]
    new = rng.choice(ops)(text)
    return new if new != text else typo(text, rng)


def paraphrase(text: str, rng: random.Random) -> str | None:
    low = text.lower()
    for opener, options in OPENERS:
        if low.startswith(opener + " "):
            rest = text[len(opener) :]
            new = rng.choice(options) + rest
            return new[:1].upper() + new[1:] if text[:1].isupper() else new
    return None


NEGATIVES: dict[str, Mutation] = {
    "numbers": swap_number,
    "swap": swap_group_word,
    "antonym": swap_antonym,
    "negation": negate,
    "scope": add_scope,
    "direction": swap_direction,
}
POSITIVES: dict[str, Mutation] = {
    "near_repeat": near_repeat,
    "paraphrase": paraphrase,
    "synonym": synonym,
}


CONTRASTS = ("antonym", "negation", "numbers", "swap", "direction")


def contrasts(rows: Sequence[tuple[str, str, bool]], seed: int = 0) -> list[tuple[str, str, bool]]:
    """A near miss beside each duplicate: its reworded side with an opposite word, a negation,
    a number or a direction changed (the first that applies, in a random order), so that a
    model taught to look past the words does not look past "not" too."""
    rng = random.Random(seed)
    out = []
    for a, b, duplicate in rows:
        if not duplicate:
            continue
        for kind in rng.sample(CONTRASTS, len(CONTRASTS)):
            new = NEGATIVES[kind](b, rng)
            if new and new.strip() != b.strip():
                out.append((a, new, False))
                break
    return out


def source_prompts(data_dir: Path | None = None) -> list[str]:
    """Short, distinct prompts from the repository's licence-clean routing files, then the
    multilingual seeds, each ``MULTILINGUAL_ROUNDS`` times."""
    folder = data_dir or PROJECT_ROOT / "training" / "data"
    texts: dict[str, None] = {}
    for name in SOURCE_FILES:
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            text = str(json.loads(line)["text"]).strip()
            if 12 <= len(text) <= MAX_CHARS and "\n" not in text:
                texts[text] = None
    seeds = (folder / MULTILINGUAL_SEEDS).read_text(encoding="utf-8").splitlines()
    multilingual = [str(json.loads(line)["text"]) for line in seeds]
    # repeated on purpose: generate() mutates each copy anew (the seeds are few)
    return list(texts) + multilingual * MULTILINGUAL_ROUNDS


def side(text: str, validation_share: float) -> str:
    """ "fit" or "validation", by a hash of the source prompt (stable across runs)."""
    h = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "validation" if h < validation_share else "fit"


def _pools(prompts: Sequence[str]) -> tuple[list[str], list[str]]:
    names: dict[str, int] = {}
    words: dict[str, int] = {}
    for text in prompts:
        for m in re.finditer(r"(?<=[a-z,] )[A-Z][a-z]{2,}\b", text):
            names[m.group(0)] = names.get(m.group(0), 0) + 1
        for w in re.findall(r"\b[a-z]{5,}\b", text):
            words[w] = words.get(w, 0) + 1
    common = sorted(words, key=lambda w: -words[w])[:1500]
    return sorted(names, key=lambda n: -names[n])[:600], common[100:]


def generate(prompts: Sequence[str], seed: int = 0) -> Iterator[dict[str, Any]]:
    """Up to two negatives and one or two positives per prompt, each labelled by category."""
    rng = random.Random(seed)
    names, words = _pools(prompts)
    negatives = {**NEGATIVES, "entity": make_entity_swap(names), "word": make_word_swap(words)}
    seen: set[tuple[str, str]] = set()
    for row in _candidates(prompts, negatives, rng):
        if (row["a"], row["b"]) not in seen:
            seen.add((row["a"], row["b"]))
            yield row


def _candidates(
    prompts: Sequence[str], negatives: dict[str, Mutation], rng: random.Random
) -> Iterator[dict[str, Any]]:
    for text in prompts:
        kinds = rng.sample(sorted(negatives), len(negatives))
        made = 0
        for kind in kinds:
            new = negatives[kind](text, rng)
            if new and new.strip() != text.strip():
                yield {"a": text, "b": new, "duplicate": False, "category": kind}
                made += 1
                if made == 2:
                    break
        for kind, make in POSITIVES.items():
            new = make(text, rng)
            if new and (kind == "near_repeat" or rng.random() < 0.8):
                yield {"a": text, "b": new, "duplicate": True, "category": kind}
