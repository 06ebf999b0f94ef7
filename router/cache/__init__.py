"""The semantic cache: index, entries, namespaces, persistence, Redis sync, and the router's
use of it."""

from router.cache.answers import Answer, BudgetAdmission
from router.cache.persist import load_snapshot, save_snapshot
from router.cache.policy import CacheMemory
from router.cache.redis_sync import RedisCacheSync
from router.cache.semantic import SemanticCache
from router.cache.verify import (
    BUNDLED_VERIFIER,
    FEATURES,
    CacheVerifier,
    analyse,
    features,
    load_verifier,
)

__all__ = [
    "BUNDLED_VERIFIER",
    "FEATURES",
    "Answer",
    "BudgetAdmission",
    "CacheMemory",
    "CacheVerifier",
    "RedisCacheSync",
    "SemanticCache",
    "analyse",
    "features",
    "load_snapshot",
    "load_verifier",
    "save_snapshot",
]
