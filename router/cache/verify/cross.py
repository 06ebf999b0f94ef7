"""The cache's cross-encoder: reads a (query, cached prompt) pair together and says how likely
serving the cached answer is right.

The model (all-MiniLM-L6-v2 fine-tuned on pairs, ``python -m training.fit_cross_verifier``)
ships int8-quantised in ``router/cache/verify/data/cross/`` with its tokenizer and a manifest that
records its sha256, the per-tier decision thresholds, provenance and held-out metrics. The file
is checked against its digest at load; it is never rebuilt on the serving machine. Only
``onnxruntime`` and ``tokenizers`` are needed; one row per call, so a pair's score never
depends on what else was scored (dynamic int8 quantises per call).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from router.cache.verify.verifier import (
    CacheVerifier,
    Verdict,
    analyse,
    exact_guards,
    load_verifier,
)
from router.config import CacheConfig
from router.encoders import cpu_session
from router.errors import ArtifactError

BUNDLED_CROSS = Path(__file__).resolve().parent / "data" / "cross"
MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE = "model.int8.onnx", "tokenizer.json", "manifest.json"
MAX_TOKENS = 64  # the pair window of a manifest that does not record its own


def lexical_guards(query: str, cached: str) -> str | None:
    """Every hard guard of the lexical verifier (word lists of opposites, names, units …)."""
    return analyse(query, cached)[2]


# Which guards stand in front of the model: the manifest names one (chosen on validation).
GUARDS: dict[str, Callable[[str, str], str | None]] = {
    "exact": exact_guards,
    "lexical": lexical_guards,
}


COEFFICIENTS = frozenset({"logit", "cosine", "jaccard", "logit_jaccard", "bias"})
_WORD = re.compile(r"\w+")


def word_overlap(a: str, b: str) -> float:
    """Jaccard overlap of the two prompts' lower-cased words."""
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    return len(wa & wb) / len(wa | wb) if wa | wb else 1.0


def combine(coef: Mapping[str, float], logits: Any, sims: Any, overlap: Any) -> Any:
    """P(duplicate) from the cross-encoder's logit, the embedding cosine and the word overlap
    (floats or arrays). The model learnt "not the same" mostly from pairs that differ in one
    detail; ``logit × overlap`` lets its verdict weigh most where the pair is that kind."""
    lg, ov = np.asarray(logits), np.asarray(overlap)
    z = (
        coef["logit"] * lg
        + coef["cosine"] * np.asarray(sims)
        + coef["jaccard"] * ov
        + coef["logit_jaccard"] * lg * ov
        + coef["bias"]
    )
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


@dataclass(frozen=True, slots=True)
class TierRule:
    """Per budget tier: the cosine that makes a neighbour a candidate, and the cross-encoder
    probability that serves it."""

    retrieve: float
    decide: float


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest beside the model, its model file checked against the recorded sha256.

    Raises:
        ArtifactError: a file is missing, the manifest is not JSON, or the digest differs.
    """
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
        if _sha256(folder / MODEL_FILE) != manifest["sha256"]:
            raise ArtifactError("cache cross-encoder does not match its digest", path=folder)
    except FileNotFoundError as exc:
        raise ArtifactError(f"cache cross-encoder incomplete: {exc.filename}", path=folder) from exc
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"corrupt cache cross-encoder manifest: {exc}", path=folder) from exc
    return manifest


def tier_rules(manifest: Mapping[str, Any]) -> dict[str, TierRule]:
    """The manifest's per-tier thresholds.

    Raises:
        ArtifactError: they are missing or out of range.
    """
    try:
        rules = {
            str(tier): TierRule(float(r["retrieve"]), float(r["decide"]))
            for tier, r in manifest["tiers"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ArtifactError(f"cache cross-encoder manifest has no valid tiers: {exc}") from exc
    if not rules or any(not (0 < r.retrieve <= 1 and 0 <= r.decide <= 1) for r in rules.values()):
        raise ArtifactError("cache cross-encoder tier thresholds out of range")
    return rules


def _max_tokens(manifest: Mapping[str, Any]) -> int:
    """The pair window the model was trained with (its manifest's ``training.max_tokens``).

    Raises:
        ArtifactError: it is there but not a sensible token count.
    """
    training = manifest.get("training")
    value = training.get("max_tokens", MAX_TOKENS) if isinstance(training, dict) else MAX_TOKENS
    if not isinstance(value, int) or not 8 <= value <= 512:
        raise ArtifactError(f"cache cross-encoder manifest: bad max_tokens {value!r}")
    return value


class CrossScorer:
    """P(duplicate) for a (query, cached) pair from the int8 ONNX cross-encoder, on CPU."""

    def __init__(self, folder: Path | None = None, *, threads: int = 1) -> None:
        """Load and check the model in ``folder`` (``None``: the one bundled with semroute).

        Raises:
            ArtifactError: onnxruntime is missing, a file is missing or corrupt, or the model
                does not load.
        """
        self.folder = folder or BUNDLED_CROSS
        self.manifest = read_manifest(self.folder)
        self.max_tokens = _max_tokens(self.manifest)
        try:  # importlib: onnxruntime ships no type information; its API is used as Any
            ort: Any = importlib.import_module("onnxruntime")
        except ImportError as exc:
            raise ArtifactError("the cache cross-encoder needs onnxruntime") from exc
        label = "cache cross-encoder"
        self._session = cpu_session(ort, self.folder / MODEL_FILE, threads, label, self.folder)
        try:
            self._tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        except Exception as exc:  # tokenizers raises its own exception types
            raise ArtifactError(f"cannot load {label}: {exc}", path=self.folder) from exc
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens, strategy="longest_first")

    def logit(self, query: str, cached: str) -> float:
        """The model's raw score for the pair (higher: more likely the same request)."""
        enc = self._tokenizer.encode(query, cached)
        feed = {
            "input_ids": np.asarray([enc.ids], dtype=np.int64),
            "attention_mask": np.asarray([enc.attention_mask], dtype=np.int64),
            "token_type_ids": np.asarray([enc.type_ids], dtype=np.int64),
        }
        return float(self._session.run(None, feed)[0][0][0])

    def probability(self, query: str, cached: str) -> float:
        z = max(min(self.logit(query, cached), 40.0), -40.0)
        return 1.0 / (1.0 + math.exp(-z))


def _same_text(a: str, b: str) -> bool:
    """Equal but for case, spacing and closing punctuation: the model is not needed."""

    def norm(t: str) -> str:
        return " ".join(t.casefold().split()).rstrip(" ?.!")

    return norm(a) == norm(b)


class CrossVerifier:
    """Guards first (the manifest names which), then the cross-encoder's logit combined with
    the cosine into P(serving the cached answer is right), served when it reaches the budget
    tier's decision threshold ``decide[tier]``."""

    def __init__(
        self,
        scorer: CrossScorer,
        decide: Mapping[str, float],
        coef: Mapping[str, float],
        guards: str = "exact",
    ) -> None:
        """``decide``: per budget tier (its value), the probability that serves; a tier not
        named (or none given) uses the strictest. ``coef``: one weight per ``COEFFICIENTS``.

        Raises:
            ArtifactError: no thresholds, missing coefficients, or unknown guards.
        """
        if not decide or set(coef) != COEFFICIENTS or guards not in GUARDS:
            raise ArtifactError("cache cross-encoder: incomplete decision rule")
        self.scorer = scorer
        self.decide = dict(decide)
        self.coef = {k: float(v) for k, v in coef.items()}
        self.guards = guards
        self._guard = GUARDS[guards]
        self._strictest = max(self.decide.values())

    def threshold_for(self, tier: str | None) -> float:
        return self.decide.get(str(tier), self._strictest) if tier is not None else self._strictest

    def _probability(self, query: str, cached: str, similarity: float) -> float:
        if _same_text(query, cached):
            return 1.0
        logit = self.scorer.logit(query, cached)
        return float(combine(self.coef, logit, similarity, word_overlap(query, cached)))

    def score(self, query: str, cached: str, similarity: float) -> float:
        """P(duplicate): 0 when a guard refuses, 1 for the same text, else the model's."""
        if self._guard(query, cached) is not None:
            return 0.0
        return self._probability(query, cached, similarity)

    def check(self, query: str, cached: str, similarity: float, tier: str | None = None) -> Verdict:
        """May the answer cached for ``cached`` be served to ``query`` at this tier?"""
        refused = self._guard(query, cached)
        if refused:
            return Verdict(False, 0.0, refused)
        p = self._probability(query, cached, similarity)
        need = self.threshold_for(tier)
        if p < need:
            return Verdict(False, p, f"cross-encoder {p:.2f} < {need:.2f}")
        return Verdict(True, p, "ok")


def load_cross_verifier(
    folder: Path | None = None, decide: Mapping[str, float] | None = None
) -> CrossVerifier:
    """The shipped cross-encoder (or the one in ``folder``) with its manifest's decision
    thresholds, each overridden by ``decide`` where given.

    Raises:
        ArtifactError: the model is missing, corrupt, or does not match its digest.
    """
    scorer = CrossScorer(folder)
    rules = {tier: rule.decide for tier, rule in tier_rules(scorer.manifest).items()}
    overrides = {str(k): float(v) for k, v in (decide or {}).items()}
    try:
        coef, guards = scorer.manifest["combine"], str(scorer.manifest["guards"])
    except KeyError as exc:
        raise ArtifactError(
            f"cache cross-encoder manifest lacks {exc}", path=scorer.folder
        ) from exc
    return CrossVerifier(scorer, {**rules, **overrides}, coef, guards)


def build_verifier(config: CacheConfig) -> CrossVerifier | CacheVerifier | None:
    """The verifier ``[cache]`` asks for (``None`` when ``verify`` is off).

    Raises:
        ArtifactError: its model or coefficients cannot be loaded.
    """
    if not config.verify:
        return None
    if config.verifier == "lexical":
        return load_verifier(config.verifier_path)
    return load_cross_verifier(config.verifier_path, {str(k): v for k, v in config.decide.items()})
