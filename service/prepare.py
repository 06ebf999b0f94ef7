"""``semroute prepare``: build the encoder files serving builds at first use and check every
machine-dependent one on the hold-out, as serving would (or, with ``--record``, write this
machine's figures)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from router.classify import (
    QualityCheck,
    build_first_stage,
    build_multilingual_stage,
    build_transformer,
    load_centroids,
)
from service.cli_common import config_of


def cmd_prepare(args: argparse.Namespace) -> int:
    """Build what the encoders build at first use (the ONNX export and its int8 copy) and
    check every machine-dependent encoder file on the hold-out, as serving would. A file that
    fails is reported loudly; serving then runs without it (the cascade off, or the float
    ONNX export instead of int8) — slower, never silently worse. ``--record`` writes this
    machine's figures into the centroid versions instead."""
    config = config_of(args)
    if args.record:
        return _record(config)
    failed: list[QualityCheck] = []

    def report(check: QualityCheck) -> None:
        print(f"check: {check.describe()}")
        if not check.passed:
            failed.append(check)

    encoder, _ = build_transformer(config, report)
    print(f"encoder: {encoder.name} ({config.encoder.backend}, {encoder.dim} dimensions) ready")
    cascade = config.encoder.cascade
    if not cascade.enabled or config.encoder.backend == "static":
        print("cascade: off (configured)")
    else:
        stage = build_first_stage(config, report)
        if stage is not None:
            print(
                f"cascade: static first stage {stage.encoder.name} with centroids "
                f"{stage.centroids.version}, margin {stage.margin} ready"
            )
        elif not failed:  # it did not load at all: serving would run without it
            print("cascade: the first stage does not load (see the error above)", file=sys.stderr)
            return 1
    if config.encoder.multilingual.enabled:
        multilingual = build_multilingual_stage(config, report, workers=False)
        if multilingual is not None:
            print(
                f"multilingual: {multilingual.encoder.name} ({multilingual.backend}) with "
                f"centroids {multilingual.centroids.version} (scope {multilingual.scope}) ready"
            )
        elif not failed:
            print("multilingual: the stage does not load (see the error above)", file=sys.stderr)
            return 1
    for check in failed:
        print(
            f"\n*** WARNING: {check.artifact} FAILED its hold-out check: {check.describe()}.\n"
            f"*** semroute serves without it ({FALLBACK[check.artifact]}); "
            "semroute_artifact_check_passed shows it.\n",
            file=sys.stderr,
        )
    return 0


FALLBACK = {
    "static": "cascade off: the transformer decides every request",
    "onnx-int8": "the float ONNX export instead of int8",
    "onnx": "nothing to fall back to",
    "multilingual": "multilingual stage off: the English encoders decide every request",
    "multilingual-int8": "the multilingual encoder's float ONNX export instead of int8",
}


def _record(config: Any) -> int:
    """Measure the locally built encoder files with their centroids; write the figures."""
    from router.classify import current_version, load_transformer_centroids, record
    from router.encoders import build_encoder

    version = config.routing.centroid_version or current_version(config.routing.centroids_dir)
    for backend in ("onnx", "onnx-int8"):
        encoder = build_encoder(config.encoder.model_copy(update={"backend": backend}))
        centroids = load_transformer_centroids(config, encoder, version)
        f1 = record(encoder, centroids, config.routing.centroids_dir / version, backend)
        print(f"recorded {backend} with {version}: hold-out macro-F1 {f1:.4f}")
    from router.encoders import StaticEncoder

    static = StaticEncoder(config.encoder)
    stage_version = config.encoder.cascade.centroid_version
    centroids = load_centroids(
        config.routing.centroids_dir, stage_version, encoder_name=static.name, dim=static.dim
    )
    f1 = record(static, centroids, config.routing.centroids_dir / stage_version, "static")
    print(f"recorded static with {stage_version}: hold-out macro-F1 {f1:.4f}")
    from router.encoders import MultilingualEncoder

    multilingual = MultilingualEncoder()
    ml_version = config.encoder.multilingual.centroid_version
    centroids = load_centroids(
        config.routing.centroids_dir,
        ml_version,
        encoder_name=multilingual.name,
        dim=multilingual.dim,
    )
    f1 = record(multilingual, centroids, config.routing.centroids_dir / ml_version, "multilingual")
    print(f"recorded multilingual with {ml_version}: hold-out macro-F1 {f1:.4f}")
    return 0
