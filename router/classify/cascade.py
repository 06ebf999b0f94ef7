"""The encoder cascade: a static encoder decides the clear cases, the transformer the rest.

The static encoder (distilled from the same MiniLM, ~0.1 ms a query) classifies first, against
centroids fitted in its own space. When that match is confident (above its task's threshold)
and its top-2 margin is at least ``margin``, it stands; otherwise the request is embedded by
the transformer as if there were no first stage. bench/encoders.py measures the trade-off
(``semroute eval`` reports the share the transformer still sees).

The semantic cache and the embedding memo live in the transformer's space only: a request the
static stage decided is embedded by the transformer later only if the cache is consulted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from router.classify.centroids import CentroidSet
from router.classify.conversation import Embedding, Turns, embed_turns_now
from router.classify.quality_check import OnCheck, checked_centroids
from router.config import Config, ContextConfig
from router.encoders import Encoder
from router.errors import ArtifactError
from router.types import Stage, TaskMatch

STATIC = Stage.STATIC
log = logging.getLogger("semroute.encoder")


@dataclass(frozen=True, slots=True)
class FirstStage:
    """The static encoder, its centroids and the margin above which its answer stands."""

    encoder: Encoder
    centroids: CentroidSet
    margin: float
    companion: str | None = None  # the transformer centroid version it was fitted alongside

    def fits(self, transformer_version: str) -> bool:
        """Whether the static centroids belong with the live transformer version: after a
        promotion they would still decide half the traffic the old way."""
        return self.companion is None or self.companion == transformer_version

    def decides(self, match: TaskMatch) -> bool:
        return match.confident and match.margin >= self.margin

    def match(
        self, turns: Turns, context: ContextConfig, *, overloaded: bool = False
    ) -> tuple[TaskMatch, Embedding] | None:
        """The static match and what it embedded, or None when the transformer must decide.

        ``overloaded`` (the next encoder's queue is long): the static match stands whatever
        it is — a confident one routes to its task, an unsure one to the default route — so
        the tail stays short; one that stands only for that is marked ``overload``.
        """
        embedding = embed_turns_now(self.encoder, turns, context)
        (match,) = self.centroids.classify(embedding.vector[None, :])
        if self.decides(match):
            return replace(match, stage=STATIC), embedding
        if overloaded:
            return replace(match, stage=STATIC, overload=True), embedding
        return None

    def match_many(self, texts: Sequence[str]) -> list[TaskMatch | None]:
        """Batch form for single-message texts (evaluation): None where the transformer decides."""
        if not texts:
            return []
        vectors = self.encoder.encode([self.encoder.fit_window(t)[0] for t in texts])
        matches = self.centroids.classify(vectors)
        return [replace(m, stage=STATIC) if self.decides(m) else None for m in matches]


def build_first_stage(config: Config, on_check: OnCheck | None = None) -> FirstStage | None:
    """The configured first stage; None when off, when the main encoder is itself static, or
    when it cannot be had: the static model or its centroids do not load, or they fail the
    hold-out check together. Those are logged (and ``on_check`` sees the check): every
    request then goes to the transformer, which is slower but right — the cascade is an
    optimisation, never a reason for the service not to start."""
    cascade = config.encoder.cascade
    if not cascade.enabled or config.encoder.backend == "static":
        return None
    try:
        return load_first_stage(config, on_check)
    except ArtifactError as exc:
        log.error("cascade off: %s (every request goes to the transformer)", exc)
        return None


def load_first_stage(config: Config, on_check: OnCheck | None = None) -> FirstStage:
    """The static model and its centroids, checked together on the hold-out
    (classify/quality_check.py): the model need not be byte for byte the one they were fitted
    on, but it must route as well with them.

    Raises:
        ArtifactError: either does not load, or together they fail the hold-out check.
    """
    from router.encoders import StaticEncoder

    cascade = config.encoder.cascade
    encoder = StaticEncoder(config.encoder)
    centroids = checked_centroids(
        encoder,
        config.routing.centroids_dir,
        cascade.centroid_version,
        STATIC,
        encoder.digest,
        fitted_file="static_model.json",
        fix="refit static centroids for this model (python -m training.distill_static "
        "--skip-distill --out MODEL --centroids NEW) or use the shipped model",
        blame=encoder.path,
        on_check=on_check,
    )
    return FirstStage(encoder, centroids, cascade.margin, cascade.transformer_version)
