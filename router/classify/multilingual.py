"""The multilingual stage: text the English encoders cannot read, and passage-shaped prompts.

USE multilingual v3 (router/encoders/multilingual.py) classifies against its own centroids
(``multilingual-v3``, fitted on the English training files, prompts written in twelve
other languages, real prompts labelled by hand and chatbot-style prompts in nineteen).
Which text it takes (``[encoder.multilingual] scope``):

- ``other_languages``: text that does not read as English (router/classify/language.py);
  English goes on through the static stage and the transformer as before.
- ``all``: everything the static stage does not decide (the transformer then only embeds
  for the semantic cache).

Its centroids have calibrated thresholds like every other set: an unsure match is not
confident and takes the default route, so unreadable text no longer lands on a "sink" task.

It also decides passage-shaped prompts (router/classify/shapes.py) in any language, by
their instruction: one more encoder call on a short text, where the whole text went to a
task a pasted passage pulls towards (summarize, extract, lookup).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from router.classify.centroids import CentroidSet
from router.classify.conversation import Embedding, Turns, embed_turns
from router.classify.language import reads_as_english
from router.classify.quality_check import OnCheck, checked_centroids
from router.classify.shapes import Shape, find_instruction
from router.config import Config, ContextConfig
from router.encoders import (
    Encoder,
    MicroBatcher,
    MultilingualBackend,
    MultilingualEncoder,
    ProcessPoolEncoder,
)
from router.errors import ArtifactError
from router.types import Stage, TaskMatch

MULTILINGUAL = Stage.MULTILINGUAL
MODEL_FILE = "multilingual_model.json"  # beside the centroids: the weights they were fitted on
Scope = Literal["other_languages", "all"]
# What an instruction about a pasted passage asks for, by the instruction's own best task;
# it decides only where the passage itself pulled the whole text to one of PASSAGE_TASKS (a
# biography written from pasted facts stays creative, a stack trace stays code).
PASSAGE_TASKS = frozenset({"summarize", "extract", "lookup"})
_QUESTION_MARKS = ("?", "？", "؟")
_BY_INSTRUCTION = {"summarize": "summarize", "extract": "extract", "lookup": "extract"}
log = logging.getLogger("semroute.encoder")


@dataclass(frozen=True, slots=True)
class MultilingualStage:
    """The multilingual encoder, its centroids and the text it takes."""

    encoder: Encoder
    centroids: CentroidSet
    scope: Scope
    batcher: MicroBatcher
    backend: MultilingualBackend = "numpy"  # what computes its vectors (after any fallback)

    def takes(self, text: str, english: bool | None = None) -> bool:
        """Whether this stage classifies ``text`` (when the static stage has not)."""
        if self.scope == "all":
            return True
        return not (reads_as_english(text) if english is None else english)

    async def match(
        self, turns: Turns, context: ContextConfig, shape: Shape | None = None
    ) -> tuple[TaskMatch, Embedding]:
        """The match for the conversation and what was embedded; with the ``shape`` of a
        passage-shaped last message, its instruction may decide (``by_instruction``)."""
        embedding = await embed_turns(self.encoder, turns, context, encode=self.batcher.encode)
        (match,) = self.centroids.classify(embedding.vector[None, :])
        match = replace(match, stage=MULTILINGUAL)
        if shape is not None and match.task in PASSAGE_TASKS:
            vectors = await self.batcher.encode(_fitted(self.encoder, [shape.instruction]))
            match = by_instruction(match, self.centroids.classify(vectors)[0], shape.instruction)
        return match, embedding

    def close(self) -> None:
        """Stop the encoder's worker processes, if it has any."""
        if isinstance(self.encoder, ProcessPoolEncoder):
            self.encoder.close()

    def match_many(self, texts: Sequence[str]) -> list[TaskMatch]:
        """Batch form of ``match`` for single-message texts (evaluation), shapes included."""
        if not texts:
            return []
        matches = self.centroids.classify(self.encoder.encode(_fitted(self.encoder, texts)))
        out = [replace(m, stage=MULTILINGUAL) for m in matches]
        shapes = [(i, find_instruction(t)) for i, t in enumerate(texts)]
        found = [(i, s.instruction) for i, s in shapes if s and out[i].task in PASSAGE_TASKS]
        if found:
            vectors = self.encoder.encode(_fitted(self.encoder, [s for _, s in found]))
            for (i, text), m in zip(found, self.centroids.classify(vectors), strict=True):
                out[i] = by_instruction(out[i], m, text)
        return out


def by_instruction(whole: TaskMatch, instruction: TaskMatch, text: str) -> TaskMatch:
    """The decision for a passage-shaped prompt: what its instruction (``text``) asks for
    (see ``_BY_INSTRUCTION``; any other question about the passage is ``extract``), else the
    whole text's match."""
    task = _BY_INSTRUCTION.get(instruction.task)
    if task is None and text.rstrip().endswith(_QUESTION_MARKS):
        task = "extract"
    if task is None:
        return whole
    return replace(whole, task=task, confident=True, margin=instruction.margin)


def _fitted(encoder: Encoder, texts: Sequence[str]) -> list[str]:
    return [encoder.fit_window(t)[0] for t in texts]


def build_multilingual_stage(
    config: Config, on_check: OnCheck | None = None, *, workers: bool = True
) -> MultilingualStage | None:
    """The configured multilingual stage; None when off or when it cannot be had: the
    package or the centroids do not load, or they fail the hold-out check together. Those
    are logged (``on_check`` sees the check): every request then goes through the English
    stages, as before. ``workers`` False: the encoder in this process whatever
    ``[encoder.multilingual] processes`` says (a one-shot command has no event loop to spare
    and would only pay the workers' start). The workers are ``spawn``-ed, which imports the
    calling program's main module again: a script that builds the stage with workers must do
    it under ``if __name__ == "__main__":`` (as the service and the CLI do); if a worker does
    not start, the encoder runs in this process (logged)."""
    if not config.encoder.multilingual.enabled:
        return None
    try:
        return load_multilingual_stage(config, on_check, workers=workers)
    except ArtifactError as exc:
        log.error("multilingual stage off: %s (the English encoders decide everything)", exc)
        return None


def load_multilingual_stage(
    config: Config, on_check: OnCheck | None = None, *, workers: bool = True
) -> MultilingualStage:
    """The encoder and its centroids, checked together on the hold-out
    (classify/quality_check.py): the weights ship in the wheel, but the forward pass is
    floating point on this machine's CPU, so it must route as well as where they were fitted.
    An int8 model that fails (or does not build) is replaced by the float ONNX export, with an
    error logged: slower, never silently worse.

    Raises:
        ArtifactError: the package or the centroids do not load, or they fail the check.
    """
    settings = config.encoder.multilingual
    try:
        return _load(config, settings.backend, on_check, workers)
    except ArtifactError as exc:
        if settings.backend != "onnx-int8":
            raise
        log.error("multilingual int8 model off: %s; serving the float ONNX export instead", exc)
        return _load(config, "onnx", on_check, workers)


def _load(
    config: Config, backend: MultilingualBackend, on_check: OnCheck | None, workers: bool
) -> MultilingualStage:
    settings = config.encoder.multilingual
    factory = MultilingualEncoder.factory(backend, config.encoder.onnx_cache)
    encoder = factory()
    centroids = checked_centroids(
        encoder,
        config.routing.centroids_dir,
        settings.centroid_version,
        f"{MULTILINGUAL}-int8" if backend == "onnx-int8" else MULTILINGUAL,
        encoder.served_digest(),
        fitted_file=MODEL_FILE,
        weights=encoder.weights_digest(),
        recorded_as=MULTILINGUAL,  # every backend is held to the reference's figure
        fix="refit the multilingual centroids here (python -m training.fit_multilingual "
        "--version NEW)",
        on_check=on_check,
    )
    served = _served(encoder, factory, settings.worker_processes() if workers else 0)
    lanes = served.processes if isinstance(served, ProcessPoolEncoder) else 1
    batcher = MicroBatcher(served, config.encoder.micro_batch, lanes)
    return MultilingualStage(served, centroids, settings.scope, batcher, backend)


def _served(
    encoder: MultilingualEncoder, factory: Callable[[], Encoder], processes: int
) -> Encoder:
    """What requests are embedded with: ``factory``'s encoders in ``processes`` worker
    processes, or ``encoder`` itself (0, or workers that do not start: logged; slower under
    load)."""
    if processes == 0:
        return encoder
    try:
        return ProcessPoolEncoder(encoder, factory, processes)
    except ArtifactError as exc:
        log.error("multilingual stage in this process: %s", exc)
        return encoder
