"""Request-path steps 1–2: embed the conversation and match it to a task.

The static first stage (classify/cascade.py) answers when it is sure; otherwise the transformer
embeds the request — through the micro-batcher, after the exact-text memo — and its centroids
decide. The live transformer centroids can be swapped at run time (a promotion).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import anyio

from router.classify.cascade import STATIC, FirstStage
from router.classify.centroids import CentroidSet, load_centroids
from router.classify.conversation import Embedding, Turns, embed_turns
from router.classify.language import reads_as_english
from router.classify.multilingual import MULTILINGUAL, PASSAGE_TASKS, MultilingualStage
from router.classify.quality_check import OnCheck, check
from router.classify.shapes import find_instruction
from router.config import Config
from router.encoders import EmbeddingMemo, Encoder, MicroBatcher, build_encoder, file_digest
from router.errors import ArtifactError
from router.types import EmbeddedText, TaskMatch

log = logging.getLogger("semroute.router")
BUILT_LOCALLY = ("onnx", "onnx-int8")  # backends whose model file this machine builds


def build_transformer(
    config: Config, on_check: OnCheck | None = None
) -> tuple[Encoder, CentroidSet | None]:
    """The configured encoder, and its centroids when they were loaded here: an ONNX file
    built on this machine is checked on the hold-out (classify/quality_check.py) with the
    centroids it serves, which the router then takes (``Router.from_config(centroids=…)``)
    instead of loading them again. An int8 file that fails is replaced by the float export,
    with an error logged: slower, never silently worse.

    Raises:
        ArtifactError: the model (or its export) cannot be loaded, or the hold-out read.
    """
    encoder = build_encoder(config.encoder)
    backend = config.encoder.backend
    if backend not in BUILT_LOCALLY:
        return encoder, None
    from router.encoders import OnnxEncoder

    if not isinstance(encoder, OnnxEncoder):
        return encoder, None
    try:
        centroids = load_transformer_centroids(config, encoder, config.routing.centroid_version)
    except ArtifactError:
        return encoder, None  # no centroids to check against: loading them fails loudly later
    version_dir = config.routing.centroids_dir / centroids.version
    verdict = check(encoder, centroids, version_dir, backend, file_digest(encoder.path))
    if on_check is not None:
        on_check(verdict)
    if verdict.passed or backend != "onnx-int8":
        return encoder, centroids
    log.error("int8 model off: %s; serving the float ONNX export instead", verdict.describe())
    # The same model (name and dimensions), so the same centroids serve it.
    return build_encoder(config.encoder.model_copy(update={"backend": "onnx"})), centroids


def load_transformer_centroids(
    config: Config, encoder: Encoder, version: str | None
) -> CentroidSet:
    """Centroid ``version`` (None: CURRENT) of ``config``'s directory, verified for ``encoder``.

    Raises:
        ArtifactError: missing, corrupt or built for another encoder.
    """
    return load_centroids(
        config.routing.centroids_dir, version, encoder_name=encoder.name, dim=encoder.dim
    )


class TaskClassifier:
    """The encoders, the centroids and the plumbing between them; shared across requests."""

    def __init__(
        self,
        config: Config,
        encoder: Encoder,
        centroids: CentroidSet,
        first_stage: FirstStage | None = None,
        multilingual: MultilingualStage | None = None,
    ) -> None:
        self.config = config
        self.encoder = encoder
        self.centroids = centroids
        self.first_stage = first_stage
        self.multilingual = multilingual
        calls = config.encoder.encoder_calls()
        self.batcher = MicroBatcher(encoder, config.encoder.micro_batch, calls)
        self.memo = EmbeddingMemo(config.encoder.memo_entries)
        self._warn_if_cascade_stands_aside()

    def version_of(self, match: TaskMatch) -> str:
        """The centroid version that decided ``match``."""
        if match.stage == STATIC and self.first_stage is not None:
            return self.first_stage.centroids.version
        if match.stage == MULTILINGUAL and self.multilingual is not None:
            return self.multilingual.centroids.version
        return self.centroids.version

    async def embed(self, turns: Turns) -> Embedding:
        """The transformer's embedding of the last user message, blended with recent turns."""
        return await embed_turns(
            self.encoder, turns, self.config.context, encode=self.batcher.encode, memo=self.memo
        )

    async def classify(self, turns: Turns) -> tuple[TaskMatch, EmbeddedText, Embedding | None]:
        """The task match, what was embedded, and the transformer's embedding (None when the
        static or the multilingual stage decided: it is computed later only if the cache
        needs it).

        In order: English text may be decided by the static stage, except a passage-shaped
        prompt it would send to a task a passage pulls towards; text the multilingual stage
        takes, and those passage-shaped prompts, go there (their instruction may decide); the
        transformer decides the rest. While the queue of the encoder that would decide next
        is long (overload), the static stage decides everything at once: English by its
        match, other text — which it cannot read — by the default route (both marked
        ``overload``), so the tail stays short instead of every request waiting longer.
        """
        multilingual = self.multilingual
        shape = find_instruction(turns.last) if multilingual is not None else None
        english = reads_as_english(turns.last)
        static = self._static_decision(turns, english, passage=shape is not None)
        if static is not None:
            return static[0], static[1], None
        with anyio.move_on_after(self._max_wait_s()):
            if multilingual is not None and (shape or multilingual.takes(turns.last, english)):
                match, embedded = await multilingual.match(turns, self.config.context, shape)
                return match, embedded.text, None
            embedding = await self.embed(turns)
            return self.centroids.classify(embedding.vector)[0], embedding.text, embedding
        # Waited ``max_wait_ms`` for the encoder: the static stage decides, as under overload.
        late = self._static_decision(turns, english, passage=False, busy=True)
        assert late is not None  # a deadline is set only where the static stage can decide
        return late[0], late[1], None

    def _max_wait_s(self) -> float:
        """How long a request may wait for its encoder: no limit without a static stage to
        decide in its place, or with ``max_wait_ms`` 0."""
        stage, wait_ms = self.first_stage, self.config.encoder.cascade.max_wait_ms
        if stage is None or not stage.fits(self.centroids.version) or wait_ms <= 0:
            return math.inf
        return wait_ms / 1e3

    def _static_decision(
        self, turns: Turns, english: bool, *, passage: bool, busy: bool | None = None
    ) -> tuple[TaskMatch, EmbeddedText] | None:
        """The static stage's match and what it embedded, where it decides (see ``classify``);
        ``busy`` None: whether the next encoder is overloaded now."""
        stage = self.first_stage
        if stage is None or not stage.fits(self.centroids.version):
            return None
        readable = english or self.multilingual is None  # without it, static reads everything
        if busy is None:
            busy = self._overloaded(turns.last, english)
        if not (readable or busy):
            return None
        decided = stage.match(turns, self.config.context, overloaded=busy)
        if decided is None or (not busy and passage and decided[0].task in PASSAGE_TASKS):
            return None
        match = decided[0] if readable else replace(decided[0], confident=False, overload=True)
        return match, decided[1].text

    def _overloaded(self, text: str, english: bool) -> bool:
        """Whether the encoder that would decide ``text`` next is overloaded: its queue is
        long, or a text queued now would wait long."""
        cascade = self.config.encoder.cascade
        ml = self.multilingual
        batcher = ml.batcher if ml is not None and ml.takes(text, english) else self.batcher
        if cascade.overload_queue > 0 and batcher.waiting >= cascade.overload_queue:
            return True
        wait_ms = cascade.overload_wait_ms
        return wait_ms > 0 and batcher.expected_wait_s() * 1e3 >= wait_ms

    def close(self) -> None:
        """Stop what runs beside the service (the multilingual encoder's worker processes)."""
        if self.multilingual is not None:
            self.multilingual.close()

    def reload(self, version: str | None = None) -> str:
        """Swap in another transformer centroid version; returns the version now live.

        Raises:
            ArtifactError: the new version fails verification; the old one stays live.
        """
        self.centroids = load_transformer_centroids(self.config, self.encoder, version)
        self._warn_if_cascade_stands_aside()
        return self.centroids.version

    def _warn_if_cascade_stands_aside(self) -> None:
        stage = self.first_stage
        if stage is not None and not stage.fits(self.centroids.version):
            log.warning(
                "cascade stands aside: %s was fitted alongside %s, %s is live; fit static "
                "centroids for it (python -m training.distill_static --skip-distill "
                "--centroids NAME) and set [encoder.cascade] centroid_version and "
                "transformer_version",
                stage.centroids.version,
                stage.companion,
                self.centroids.version,
            )
