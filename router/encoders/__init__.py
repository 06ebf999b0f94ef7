"""Sentence encoders: the Encoder protocol, the torch / ONNX / static implementations,
micro-batching and the embedding memo."""

from router.encoders.artifacts import weights_digest
from router.encoders.base import Encoder, Vectors, bundled_model_path, encode_async, normalise
from router.encoders.batching import MicroBatcher
from router.encoders.factory import build_encoder
from router.encoders.memo import EmbeddingMemo, memo_key
from router.encoders.multilingual import MultilingualBackend, MultilingualEncoder
from router.encoders.onnx import OnnxEncoder
from router.encoders.onnx_export import cpu_session
from router.encoders.processes import ProcessPoolEncoder
from router.encoders.static import StaticEncoder, static_model_dir
from router.encoders.static_model import SHIPPED_STATIC_DIR, file_digest, ship
from router.encoders.transformer import SentenceTransformerEncoder

__all__ = [
    "SHIPPED_STATIC_DIR",
    "EmbeddingMemo",
    "Encoder",
    "MicroBatcher",
    "MultilingualBackend",
    "MultilingualEncoder",
    "OnnxEncoder",
    "ProcessPoolEncoder",
    "SentenceTransformerEncoder",
    "StaticEncoder",
    "Vectors",
    "build_encoder",
    "bundled_model_path",
    "cpu_session",
    "encode_async",
    "file_digest",
    "memo_key",
    "normalise",
    "ship",
    "static_model_dir",
    "weights_digest",
]
