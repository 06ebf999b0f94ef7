"""The semantic cache: index, entries, namespaces, persistence, Redis sync, and the router's
use of it."""

from router.cache.answers import CACHE_PROVIDER, hit_answer
from router.cache.persist import load_snapshot, save_snapshot
from router.cache.policy import CacheLookup, CacheMemory
from router.cache.redis_sync import RedisCacheSync
from router.cache.semantic import Entry, SemanticCache
from router.cache.verify import (
    BUNDLED_VERIFIER,
    FEATURES,
    CacheVerifier,
    analyse,
    build_verifier,
    features,
    load_verifier,
)

__all__ = [
    "BUNDLED_VERIFIER",
    "CACHE_PROVIDER",
    "FEATURES",
    "CacheLookup",
    "CacheMemory",
    "CacheVerifier",
    "Entry",
    "RedisCacheSync",
    "SemanticCache",
    "analyse",
    "build_verifier",
    "features",
    "hit_answer",
    "load_snapshot",
    "load_verifier",
    "save_snapshot",
]
