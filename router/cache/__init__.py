"""The semantic cache: index, entries, namespaces, persistence, Redis sync, and the router's
use of it."""

from router.cache.answers import CACHE_PROVIDER, hit_answer
from router.cache.persist import load_snapshot, save_snapshot
from router.cache.policy import CacheLookup, CacheMemory
from router.cache.redis_sync import RedisCacheSync
from router.cache.semantic import Entry, SemanticCache
from router.cache.verify import (
    BUNDLED_CROSS,
    BUNDLED_VERIFIER,
    FEATURES,
    GUARDS,
    MANIFEST_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    CacheVerifier,
    CrossScorer,
    CrossVerifier,
    analyse,
    build_verifier,
    combine,
    features,
    load_cross_verifier,
    load_verifier,
    tier_rules,
    word_overlap,
)

__all__ = [
    "BUNDLED_CROSS",
    "BUNDLED_VERIFIER",
    "CACHE_PROVIDER",
    "FEATURES",
    "GUARDS",
    "MANIFEST_FILE",
    "MODEL_FILE",
    "TOKENIZER_FILE",
    "CacheLookup",
    "CacheMemory",
    "CacheVerifier",
    "CrossScorer",
    "CrossVerifier",
    "Entry",
    "RedisCacheSync",
    "SemanticCache",
    "analyse",
    "build_verifier",
    "combine",
    "features",
    "hit_answer",
    "load_cross_verifier",
    "load_snapshot",
    "load_verifier",
    "save_snapshot",
    "tier_rules",
    "word_overlap",
]
