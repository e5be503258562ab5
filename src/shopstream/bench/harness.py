"""The one way shopstream measures speed: time a stage in a fresh process.

A :class:`Stage` is a named function ``run(events) -> events processed``, with an
optional :class:`Baseline` (the naive approach it is compared with). :func:`bench`
runs the stage, then its baseline, each in a new process started with the
``spawn`` method, so neither inherits the other's memory or warm caches; the child
times ``run`` with :func:`time.perf_counter` and reports its own peak resident
memory. The result is one :class:`BenchResult`, ready for JSON.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from shopstream.bench.errors import BenchError, UnknownStageError
from shopstream.process import configure

DEFAULT_EVENTS = 1_000_000


@dataclass(frozen=True)
class Baseline:
    """The naive way to do a stage's work, measured beside it for an honest ratio.

    Baselines are slow, so they run on at most ``max_events`` events.
    """

    name: str
    description: str
    run: Callable[[Any], int]
    max_events: int = 200_000
    prepare: Callable[[int], Any] | None = None
    """Builds ``run``'s input from the event count before the clock starts (e.g. a file)."""


@dataclass(frozen=True)
class Stage:
    """A pipeline stage under measurement; ``run(events)`` returns events processed.

    ``run`` must be a module-level function: it is sent to a spawned process by reference.
    """

    name: str
    description: str
    run: Callable[[Any], int | Scored]
    baseline: Baseline | None = None
    prepare: Callable[[int], Any] | None = None
    """Builds ``run``'s input from the event count before the clock starts (e.g. a file)."""


@dataclass(frozen=True)
class Scored:
    """What a stage that is judged on more than speed returns: events and its figures."""

    events: int
    figures: dict[str, Any]


@dataclass(frozen=True)
class Measurement:
    """What one child process reports about one run."""

    events: int
    seconds: float
    peak_rss_mb: float
    figures: dict[str, Any] | None = None

    @property
    def events_per_s(self) -> float:
        """Throughput; a run too fast for the clock counts as one nanosecond."""
        return self.events / max(self.seconds, 1e-9)


@dataclass(frozen=True)
class BenchResult:
    """A stage's measurement and, where it has one, its baseline's, from the same run."""

    stage: str
    events: int
    seconds: float
    events_per_s: float
    peak_rss_mb: float
    baseline: str | None = None
    baseline_events: int | None = None
    baseline_seconds: float | None = None
    baseline_events_per_s: float | None = None
    baseline_peak_rss_mb: float | None = None
    ratio: float | None = None
    figures: dict[str, Any] | None = None
    """A stage's own figures beside its speed (``detect``: recall and precision per kind)."""

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict; baseline keys only when there is a baseline."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def find_stage(name: str, stages: dict[str, Stage]) -> Stage:
    """The stage registered as ``name``.

    >>> find_stage("nope", {})
    Traceback (most recent call last):
    ...
    shopstream.bench.errors.UnknownStageError: unknown bench stage 'nope'; choose one of: (none)
    """
    try:
        return stages[name]
    except KeyError:
        raise UnknownStageError(name, sorted(stages)) from None


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB.

    On Linux this reads ``VmHWM``: ``ru_maxrss`` of a spawned child also counts the
    parent's memory at the moment it was started (Linux carries the high-water mark
    across ``exec``), which would blame a stage for its parent's tables.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # macOS reports bytes, Linux kilobytes.
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def measure_here(
    run: Callable[[Any], int | Scored], events: int, prepare: Callable[[int], Any] | None = None
) -> Measurement:
    """Time ``run`` in this process (the child's half of :func:`measure`).

    ``run`` gets ``prepare(events)`` when there is a ``prepare`` (untimed), else ``events``.
    """
    configure()  # a child is set up as the shopstream command is
    given = events if prepare is None else prepare(events)
    start = time.perf_counter()
    processed = run(given)
    seconds = time.perf_counter() - start
    if isinstance(processed, Scored):
        return Measurement(processed.events, seconds, peak_rss_mb(), processed.figures)
    return Measurement(events=processed, seconds=seconds, peak_rss_mb=peak_rss_mb())


def measure(
    run: Callable[[Any], int | Scored], events: int, prepare: Callable[[int], Any] | None = None
) -> Measurement:
    """Time ``run`` in a fresh spawned process, so memory and timing are its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as child:
        return child.submit(measure_here, run, events, prepare).result()


def bench(stage: Stage, events: int = DEFAULT_EVENTS) -> BenchResult:
    """Measure ``stage`` on ``events`` events, then its baseline, each in its own process."""
    if events < 1:
        raise BenchError(f"--events must be at least 1, got {events}")
    measured = measure(stage.run, events, stage.prepare)
    result = BenchResult(
        stage=stage.name,
        events=measured.events,
        seconds=measured.seconds,
        events_per_s=measured.events_per_s,
        peak_rss_mb=measured.peak_rss_mb,
        figures=measured.figures,
    )
    if stage.baseline is None:
        return result
    base = measure(stage.baseline.run, min(events, stage.baseline.max_events), stage.baseline.prepare)
    return replace(
        result,
        baseline=stage.baseline.name,
        baseline_events=base.events,
        baseline_seconds=base.seconds,
        baseline_events_per_s=base.events_per_s,
        baseline_peak_rss_mb=base.peak_rss_mb,
        ratio=measured.events_per_s / base.events_per_s,
    )
