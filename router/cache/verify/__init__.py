"""The safety check for near-duplicate cache hits."""

from router.cache.verify.verifier import (
    BUNDLED_VERIFIER,
    FEATURES,
    CacheVerifier,
    analyse,
    features,
    load_verifier,
)

__all__ = ["BUNDLED_VERIFIER", "FEATURES", "CacheVerifier", "analyse", "features", "load_verifier"]
