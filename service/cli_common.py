"""Helpers shared by the ``semroute`` commands: the config and the encoder they run with."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from router.config import Config, load_config

if TYPE_CHECKING:
    from router.encoders import Encoder


def config_path_of(args: argparse.Namespace) -> Path | None:
    path = args.config or os.environ.get("SEMROUTE_CONFIG")
    return Path(path) if path else None


def config_of(args: argparse.Namespace) -> Config:
    return load_config(config_path_of(args))


def encoder_of(config: Config) -> Encoder:
    """The transformer as serving loads it (an int8 file that fails its check is replaced)."""
    from router.classify import build_transformer

    encoder, _ = build_transformer(config)  # the commands load the centroids they name
    return encoder
