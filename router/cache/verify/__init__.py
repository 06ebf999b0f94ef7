"""The safety check for near-duplicate cache hits: exact guards, then the cross-encoder (or the
older lexical verifier), decided per budget tier."""

from router.cache.verify.cross import (
    BUNDLED_CROSS,
    GUARDS,
    MANIFEST_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    CrossScorer,
    CrossVerifier,
    TierRule,
    build_verifier,
    combine,
    load_cross_verifier,
    tier_rules,
    word_overlap,
)
from router.cache.verify.verifier import (
    BUNDLED_VERIFIER,
    FEATURES,
    CacheVerifier,
    Verdict,
    analyse,
    exact_guards,
    features,
    load_verifier,
)

__all__ = [
    "BUNDLED_CROSS",
    "BUNDLED_VERIFIER",
    "FEATURES",
    "GUARDS",
    "MANIFEST_FILE",
    "MODEL_FILE",
    "TOKENIZER_FILE",
    "CacheVerifier",
    "CrossScorer",
    "CrossVerifier",
    "TierRule",
    "Verdict",
    "analyse",
    "build_verifier",
    "combine",
    "exact_guards",
    "features",
    "load_cross_verifier",
    "load_verifier",
    "tier_rules",
    "word_overlap",
]
