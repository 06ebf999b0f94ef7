"""The encoder the configuration names."""

from __future__ import annotations

from router.config import EncoderConfig
from router.encoders.base import Encoder
from router.encoders.onnx import OnnxEncoder
from router.encoders.static import StaticEncoder
from router.encoders.transformer import SentenceTransformerEncoder


def build_encoder(config: EncoderConfig) -> Encoder:
    """The encoder ``config.backend`` names: torch (default), onnx, onnx-int8 or static.

    Raises:
        ArtifactError: the model (or its exported / distilled form) cannot be loaded.
    """
    if config.backend in ("onnx", "onnx-int8"):
        onnx: Encoder = OnnxEncoder(config)
        return onnx
    if config.backend == "static":
        static: Encoder = StaticEncoder(config)
        return static
    return SentenceTransformerEncoder(config)
