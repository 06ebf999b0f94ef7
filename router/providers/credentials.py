"""Where provider keys come from (env or file) and how each provider sends them.

Keys are held as SecretStr: their repr is masked, so they never reach logs, errors, metrics or
responses by accident. ``reload()`` re-reads them (SIGHUP / admin reload) without a restart.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

log = logging.getLogger("semroute.credentials")

AuthStyle = Literal["bearer", "x-api-key", "header"]


class Credentials:
    """One provider's key: read from ``env`` (a variable name) or ``file`` (a path)."""

    def __init__(
        self,
        provider: str,
        *,
        env: str | None,
        file: Path | None,
        style: AuthStyle,
        header: str | None = None,
        extra: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self._env, self._file = env, file
        self._style, self._header = style, header
        self._extra = dict(extra or {})
        self._environ = environ
        self._key: SecretStr | None = None
        self.reload()

    @property
    def present(self) -> bool:
        return self._key is not None

    @property
    def source(self) -> str:
        """Where the key comes from, for logs and admin output (never the key itself)."""
        if self._file is not None:
            return f"file {self._file}"
        return f"env {self._env}" if self._env else "none"

    def reload(self) -> bool:
        """Re-read the key; returns whether one is present now."""
        self._key = self._read()
        return self.present

    def _read(self) -> SecretStr | None:
        if self._file is not None:
            try:
                value = self._file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                log.warning(
                    "provider %s: cannot read key file %s (%s)",
                    self.provider,
                    self._file,
                    type(exc).__name__,
                )
                return None
            return SecretStr(value) if value else None
        if self._env:
            environ = self._environ if self._environ is not None else os.environ
            value = environ.get(self._env, "").strip()
            return SecretStr(value) if value else None
        return None

    def headers(self) -> dict[str, str]:
        """The auth headers for a request (empty when there is no key)."""
        out = dict(self._extra)
        if self._key is None:
            return out
        key = self._key.get_secret_value()
        if self._style == "bearer":
            out["authorization"] = f"Bearer {key}"
        elif self._style == "x-api-key":
            out["x-api-key"] = key
        else:
            out[self._header or "api-key"] = key
        return out

    def redact(self, text: str) -> str:
        """``text`` with this key masked: upstreams sometimes echo credentials in errors."""
        if self._key is None:
            return text
        key = self._key.get_secret_value()
        return text.replace(key, "***") if key else text

    def __repr__(self) -> str:
        return f"Credentials({self.provider}, {self.source}, present={self.present})"
