"""Sentence encoders: the Encoder protocol, the torch / ONNX / static implementations,
micro-batching and the embedding memo."""

from router.encoders.base import Encoder, Vectors, bundled_model_path, encode_async, normalise
from router.encoders.batching import MicroBatcher
from router.encoders.factory import build_encoder
from router.encoders.memo import EmbeddingMemo, memo_key
from router.encoders.static import StaticEncoder, static_model_dir
from router.encoders.transformer import SentenceTransformerEncoder

__all__ = [
    "EmbeddingMemo",
    "Encoder",
    "MicroBatcher",
    "SentenceTransformerEncoder",
    "StaticEncoder",
    "Vectors",
    "build_encoder",
    "bundled_model_path",
    "encode_async",
    "memo_key",
    "normalise",
    "static_model_dir",
]
