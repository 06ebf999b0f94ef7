"""Embedding a conversation and matching it to a task: centroids, the cascade, context."""

from router.classify.cascade import STATIC, FirstStage, build_first_stage, load_first_stage
from router.classify.centroids import (
    CentroidSet,
    EncoderInfo,
    Manifest,
    current_version,
    list_versions,
    load_centroids,
    set_current,
    write_centroids,
)
from router.classify.classifier import TaskClassifier, build_transformer, load_transformer_centroids
from router.classify.conversation import Embedding, Turns, user_turns
from router.classify.language import reads_as_english
from router.classify.multilingual import (
    MODEL_FILE,
    MULTILINGUAL,
    PASSAGE_TASKS,
    MultilingualStage,
    build_multilingual_stage,
    load_multilingual_stage,
)
from router.classify.quality_check import QualityCheck, record
from router.classify.shapes import find_instruction

__all__ = [
    "MODEL_FILE",
    "MULTILINGUAL",
    "PASSAGE_TASKS",
    "STATIC",
    "CentroidSet",
    "Embedding",
    "EncoderInfo",
    "FirstStage",
    "Manifest",
    "MultilingualStage",
    "QualityCheck",
    "TaskClassifier",
    "Turns",
    "build_first_stage",
    "build_multilingual_stage",
    "build_transformer",
    "current_version",
    "find_instruction",
    "list_versions",
    "load_centroids",
    "load_first_stage",
    "load_multilingual_stage",
    "load_transformer_centroids",
    "reads_as_english",
    "record",
    "set_current",
    "user_turns",
    "write_centroids",
]
