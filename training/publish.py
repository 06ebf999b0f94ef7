"""Write a fitted centroid version to disk and (optionally) make it the live one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from router.classify import (
    CentroidSet,
    EncoderInfo,
    Manifest,
    list_versions,
    set_current,
    write_centroids,
)
from router.errors import ArtifactError

_NUMBERED = re.compile(r"^v(\d+)$")


def next_version(root: Path) -> str:
    """``v<N+1>`` where N is the highest numbered version under ``root``."""
    numbers = [int(m.group(1)) for v in list_versions(root) if (m := _NUMBERED.match(v))]
    return f"v{max(numbers, default=0) + 1}"


def publish(
    root: Path,
    centroids: CentroidSet,
    thresholds: Mapping[str, float],
    *,
    encoder: EncoderInfo,
    training: Mapping[str, Any],
    metrics: Mapping[str, Any],
    version: str | None = None,
    promote: bool = False,
    clock: datetime | None = None,
) -> tuple[Manifest, bool]:
    """Write ``root/<version>/``; point CURRENT at it when asked or when nothing is live yet.

    Returns the manifest and whether CURRENT now names it.

    Raises:
        ArtifactError: the version exists already or cannot be written.
    """
    root.mkdir(parents=True, exist_ok=True)
    version = version or next_version(root)
    created = (clock or datetime.now(UTC)).isoformat(timespec="seconds")
    manifest = write_centroids(
        root,
        version,
        tasks=[(t, g, thresholds[t]) for t, g in centroids.groups.items()],
        encoder=encoder,
        training=training,
        metrics=metrics,
        created_at=created,
    )
    live = promote or not (root / "CURRENT").exists()
    if live:
        try:
            set_current(root, version)
        except OSError as exc:
            raise ArtifactError(f"cannot write CURRENT: {exc}", path=root) from exc
    return manifest, live
