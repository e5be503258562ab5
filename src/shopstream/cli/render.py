"""How the CLI shows core results: Rich tables, one-line reports, progress bars.

Presentation only; nothing here computes a number. Rich writes progress and errors
to stderr so that stdout stays clean for ``--json`` and pipes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from shopstream.events.contract import ALL_TYPES, Column

if TYPE_CHECKING:
    from shopstream.alerts import SinkStats
    from shopstream.bench.harness import BenchResult
    from shopstream.generator.files import GenerateReport
    from shopstream.generator.summary import ShopSummary
    from shopstream.ingest.pipeline import IngestReport

ProgressCallback = Callable[[int, int | None], None]


def print_error(message: str) -> None:
    """One red line on stderr, never wrapped, markup in ``message`` left alone."""
    Console(stderr=True).print(
        f"error: {message}", style="bold red", markup=False, highlight=False, soft_wrap=True
    )


def _ignore_progress(done: int, total: int | None) -> None:
    """Progress nobody is watching."""


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressCallback]:
    """A Rich progress bar on stderr, driven by a ``(done, total)`` callback.

    ``total`` may be ``None`` while the end is unknown; the bar then pulses. When
    stderr is not a terminal (CI logs, pipes) nothing is drawn at all.
    """
    console = Console(stderr=True)
    if not console.is_terminal:
        yield _ignore_progress
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def advance(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


def counting(progress: ProgressCallback) -> Callable[[int], None]:
    """A callback that adds each count it gets (records of a batch) to a running total and
    shows the total on ``progress``, whose end is unknown."""
    done = 0

    def advance(received: int) -> None:
        nonlocal done
        done += received
        progress(done, None)

    return advance


def _type_name(data_type: pa.DataType) -> str:
    if pa.types.is_dictionary(data_type):
        return f"{data_type.value_type} (dictionary)"
    return str(data_type)


def _type_list(types: frozenset[str]) -> str:
    if types == ALL_TYPES:
        return "all"
    return ", ".join(sorted(types)) or "—"


def schema_markdown(columns: tuple[Column, ...]) -> str:
    """A Markdown table of the contract's columns, for docs and reviews.

    >>> from shopstream.events.contract import EVENT_COLUMNS
    >>> print(schema_markdown(EVENT_COLUMNS[:1]))
    | column | type | used by | required by | doc |
    |---|---|---|---|---|
    | `event_id` | string | all | all | Unique id of the event; the dedupe key. |
    """
    lines = ["| column | type | used by | required by | doc |", "|---|---|---|---|---|"]
    for column in columns:
        cells = (
            f"`{column.name}`",
            _type_name(column.type),
            _type_list(column.used_by),
            _type_list(column.required_by),
            column.doc,
        )
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def _rate(seconds: float, events: int) -> str:
    return f"{events / max(seconds, 1e-9):,.0f} events/s"


def report_line(report: GenerateReport, out: Path) -> str:
    """One line saying what ``shopstream generate`` wrote into ``out``."""
    span = ""
    if report.first_ts is not None and report.last_ts is not None:
        span = f"; event time {report.first_ts:%Y-%m-%d %H:%M} → {report.last_ts:%Y-%m-%d %H:%M} UTC"
    return (
        f"wrote {report.events:,} events and {report.labels:,} anomaly labels to {len(report.files)} files "
        f"in {out} in {report.seconds:.2f} s ({_rate(report.seconds, report.events)}){span}"
    )


def summary_table(summary: ShopSummary, title: str = "shop summary") -> Table:
    """The headline numbers of a simulated shop as a two-column Rich table."""
    table = Table(title=title, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    table.add_row("events", f"{summary.events:,}")
    for event_type, count in summary.events_by_type.items():
        table.add_row(f"  {event_type}", f"{count:,}")
    table.add_row("sessions", f"{summary.sessions:,}")
    table.add_row("online sessions (web, app)", f"{summary.online_sessions:,}")
    table.add_row("conversion rate", f"{summary.conversion_rate:.2%}")
    table.add_row("sessions with a cart", f"{summary.cart_sessions:,}")
    table.add_row("cart abandonment rate", f"{summary.cart_abandonment_rate:.2%}")
    table.add_row("orders", f"{summary.orders:,}")
    table.add_row("revenue", f"{summary.revenue:,.2f}")
    table.add_row("average order value", f"{summary.average_order_value:,.2f}")
    if summary.first_ts is not None and summary.last_ts is not None:
        table.add_row("first event (UTC)", f"{summary.first_ts:%Y-%m-%d %H:%M:%S}")
        table.add_row("last event (UTC)", f"{summary.last_ts:%Y-%m-%d %H:%M:%S}")
    table.add_row("injected anomalies", f"{sum(summary.anomalies_by_kind.values()):,}")
    for kind, count in summary.anomalies_by_kind.items():
        table.add_row(f"  {kind}", f"{count:,}")
    return table


def bench_table(result: BenchResult) -> Table:
    """A stage's measurement beside its baseline's, as a Rich table."""
    table = Table(title=f"bench {result.stage}")
    for name in ("run", "events", "seconds", "events/s", "peak RSS (MiB)"):
        table.add_column(name, justify="left" if name == "run" else "right")
    table.add_row(
        result.stage,
        f"{result.events:,}",
        f"{result.seconds:.3f}",
        f"{result.events_per_s:,.0f}",
        f"{result.peak_rss_mb:,.0f}",
    )
    if (
        result.baseline is not None
        and result.baseline_events is not None
        and result.baseline_seconds is not None
        and result.baseline_events_per_s is not None
        and result.baseline_peak_rss_mb is not None
    ):
        table.add_row(
            f"baseline: {result.baseline}",
            f"{result.baseline_events:,}",
            f"{result.baseline_seconds:.3f}",
            f"{result.baseline_events_per_s:,.0f}",
            f"{result.baseline_peak_rss_mb:,.0f}",
        )
        table.caption = f"{result.ratio:,.1f}× the baseline's throughput"
    return table


def ledger_table(report: IngestReport, title: str = "ingest ledger") -> Table:
    """The ledger of an ingest run: where every received record went, and why."""
    table = Table(title=title)
    table.add_column("records", justify="left")
    table.add_column("count", justify="right")
    table.add_row("received", f"{report.received:,}")
    table.add_row("accepted", f"{report.accepted:,}")
    table.add_row("quarantined", f"{report.quarantined:,}")
    for reason, count in sorted(report.by_reason.items()):
        table.add_row(f"  {reason}", f"{count:,}")
    table.add_row("duplicates", f"{report.duplicates:,}")
    table.caption = f"{report.batches} batches; received = accepted + quarantined + duplicates"
    return table


def records_table(records: pa.Table, title: str) -> Table:
    """Any small Arrow table as a Rich table (quarantine listings)."""
    table = Table(title=title)
    for name in records.column_names:
        table.add_column(name, overflow="fold")
    for row in records.to_pylist():
        table.add_row(*("" if value is None else str(value) for value in row.values()))
    return table


def stream_table(summary: dict[str, Any], title: str = "stream") -> Table:
    """Where the stream stands: event time, sessions, flags, anomalies and inventory alerts."""
    table = Table(title=title)
    table.add_column("what", justify="left")
    table.add_column("value", justify="right")
    for key in ("newest_event", "watermark"):
        table.add_row(key.replace("_", " "), str(summary.get(key) or "-"))
    for key in ("open_sessions", "sessions_closed", "abandoned_carts", "late_events"):
        table.add_row(key.replace("_", " "), f"{summary.get(key, 0):,}")
    for group in ("flagged", "anomalies", "inventory_alerts"):
        counts: dict[str, int] = summary.get(group, {})
        table.add_row(group.replace("_", " "), f"{sum(counts.values()):,}")
        for name, count in counts.items():
            table.add_row(f"  {name}", f"{count:,}")
    return table


def deliveries_caption(stats: list[SinkStats]) -> str:
    """How each sink fared with the alert notifications, in one line."""
    parts = [
        f"{s.sink}: {s.delivered:,} delivered, {s.failed:,} failed, {s.skipped:,} skipped, "
        f"{s.pending:,} pending" + (f" (last error: {s.last_error})" if s.last_error else "")
        for s in stats
    ]
    return "; ".join(parts) or "no notifications sent yet"
