"""Errors of the benchmark harness: an unknown stage or an unusable event count."""

from __future__ import annotations

from shopstream.errors import ShopstreamError


class BenchError(ShopstreamError):
    """A benchmark cannot run as asked."""


class UnknownStageError(BenchError):
    """``shopstream bench`` was given a stage name that is not registered."""

    def __init__(self, stage: str, known: list[str]) -> None:
        self.stage = stage
        self.known = known
        super().__init__(f"unknown bench stage {stage!r}; choose one of: {', '.join(known) or '(none)'}")
