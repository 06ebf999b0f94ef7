"""The one test clock: time that moves only when a test says so (breakers, budgets, TTLs)."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """Seconds, as ``time.monotonic`` / ``time.time`` give them; ``sleep`` advances it and
    records how long it was asked to wait."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class DateClock:
    """Aware datetimes (the budget day), moved by ``advance``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
