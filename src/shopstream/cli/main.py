"""The ``shopstream`` commands: each parses its options and calls one core function.

A user mistake — any :class:`~shopstream.errors.ShopstreamError`, such as a bad
setting or contradictory options — becomes one red ``error:`` line on stderr and
exit code 1, never a traceback. The generator and the benchmark registry are
imported inside their commands so that ``--help`` and ``version`` stay fast.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from shopstream import __version__
from shopstream.bench.harness import DEFAULT_EVENTS
from shopstream.cli import render
from shopstream.errors import ShopstreamError
from shopstream.events.contract import EVENT_COLUMNS, EVENTS_SCHEMA, SCHEMA_VERSION, json_schema
from shopstream.process import configure
from shopstream.settings import load_settings


class ShopstreamGroup(TyperGroup):
    """Turns a :class:`ShopstreamError` raised by any command into one red line and exit 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ShopstreamError as error:
            render.print_error(str(error))
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=ShopstreamGroup,
    help="Real-time e-commerce analytics in one Python process.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


class SchemaFormat(StrEnum):
    JSON_SCHEMA = "json-schema"
    ARROW = "arrow"
    MARKDOWN = "markdown"


class FileFormat(StrEnum):
    PARQUET = "parquet"
    JSONL = "jsonl"
    CSV = "csv"


DbOption = Annotated[Path | None, typer.Option(help="DuckDB file (default: setting ingest.db).")]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (default: ./shopstream.toml if present)."),
]


@app.command()
def version() -> None:
    """Print shopstream's version and the event contract's version."""
    typer.echo(f"shopstream {__version__}, event contract v{SCHEMA_VERSION}")


@app.command()
def schema(
    fmt: Annotated[SchemaFormat, typer.Option("--format", help="What to print.")] = SchemaFormat.JSON_SCHEMA,
) -> None:
    """Print the event contract as JSON Schema, an Arrow schema or a Markdown table."""
    if fmt is SchemaFormat.JSON_SCHEMA:
        typer.echo(json.dumps(json_schema(), indent=2))
    elif fmt is SchemaFormat.ARROW:
        typer.echo(EVENTS_SCHEMA.to_string(show_schema_metadata=False))
    else:
        typer.echo(render.schema_markdown(EVENT_COLUMNS))


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the files into.")],
    events: Annotated[int | None, typer.Option(min=1, help="Stop after this many events.")] = None,
    days: Annotated[float | None, typer.Option(min=0, help="Stop after this many simulated days.")] = None,
    seed: Annotated[int | None, typer.Option(min=0, max=2**32 - 1, help="Random seed.")] = None,
    fmt: Annotated[FileFormat, typer.Option("--format", help="File format.")] = FileFormat.PARQUET,
    rate: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Run live against the clock at this many events per second on the day's average "
            "(default: flat out).",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Simulate the shop and write its events and anomaly labels to files."""
    settings = load_settings(config).generator
    from shopstream.generator.files import generate_files

    if seed is not None:
        settings = settings.model_copy(update={"seed": seed})
    with render.progress_bar("generating") as progress:
        report = generate_files(
            settings, out=out, fmt=fmt.value, events=events, days=days, rate=rate, progress=progress
        )
    typer.echo(render.report_line(report, out))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Directory for the demo's files.")] = Path("demo-data"),
    config: ConfigOption = None,
) -> None:
    """Simulate one day of the shop and show its headline numbers."""
    settings = load_settings(config).generator
    from shopstream.generator.files import generate_files
    from shopstream.generator.summary import read_generated, summarize

    with render.progress_bar("simulating one day") as progress:
        report = generate_files(
            settings, out=out, fmt="parquet", events=None, days=1.0, rate=None, progress=progress
        )
    summary = summarize(*read_generated(report.files))
    Console().print(render.summary_table(summary, title=f"one simulated day ({out})"))


@app.command("bench")
def bench_command(
    stage: Annotated[str, typer.Argument(help="Stage to measure, e.g. generate.")],
    events: Annotated[int, typer.Option(min=1, help="Events to process.")] = DEFAULT_EVENTS,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure a stage's throughput and peak memory beside its naive baseline."""
    from shopstream.bench.harness import bench, find_stage
    from shopstream.bench.stages import STAGES

    with Console(stderr=True).status(f"measuring {stage} on {events:,} events"):
        result = bench(find_stage(stage, STAGES), events)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        Console().print(render.bench_table(result))


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, directories or glob patterns to ingest.")],
    mapping: Annotated[
        str, typer.Option(help="Mapping: shopstream (the contract), online_retail, or a .toml file.")
    ] = "shopstream",
    db: Annotated[
        Path | None, typer.Option(help="DuckDB file to write (default: setting ingest.db).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ledger as one JSON object.")] = False,
    config: ConfigOption = None,
) -> None:
    """Validate, dedupe and store events; refused records go to the quarantine with a reason."""
    settings = load_settings(config).ingest
    from shopstream.ingest.pipeline import ingest_files

    with render.progress_bar("ingesting") as progress:
        advance = render.counting(progress)
        report = ingest_files(paths, settings=settings, mapping=mapping, db=db, progress=advance)
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        Console().print(render.ledger_table(report))


@app.command("stream")
def stream_command(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Files, directories or globs to replay (or --simulate).")
    ] = None,
    simulate: Annotated[bool, typer.Option(help="Stream the in-process shop simulator.")] = False,
    days: Annotated[float | None, typer.Option(min=0, help="With --simulate: days of the shop.")] = None,
    events: Annotated[int | None, typer.Option(min=1, help="With --simulate: events to simulate.")] = None,
    rate: Annotated[
        float | None,
        typer.Option(help="With --simulate: live, about this many events per second on the day's average."),
    ] = None,
    follow: Annotated[
        bool, typer.Option(help="Keep watching the paths and stream files as they appear (Ctrl-C stops).")
    ] = False,
    poll_seconds: Annotated[
        float, typer.Option(min=0.05, help="With --follow: seconds between looks.")
    ] = 1.0,
    mapping: Annotated[str, typer.Option(help="Mapping for files: shopstream, online_retail or a .toml.")] = (
        "shopstream"
    ),
    db: DbOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run's report as one JSON object.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Ingest and process events into real-time tables, flags, anomalies and alerts."""
    from shopstream.stream.runner import follow as follow_files
    from shopstream.stream.runner import stream

    if simulate == bool(paths):
        raise ShopstreamError("give files to replay, or --simulate (not both)")
    if simulate and rate is None and days is None and events is None:
        raise ShopstreamError("--simulate needs --days D, --events N or a live --rate R")
    settings = load_settings(config)
    with render.progress_bar("streaming") as progress:
        advance = render.counting(progress)
        if follow:
            if simulate:
                raise ShopstreamError("--follow watches files; the live simulator is --simulate --rate R")
            report = follow_files(
                paths or [], settings, mapping=mapping, db=db, poll_seconds=poll_seconds, progress=advance
            )
        else:
            report = stream(
                paths or [],
                settings,
                simulate=simulate,
                events=events,
                days=days,
                rate=rate,
                mapping=mapping,
                db=db,
                progress=advance,
            )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str))
    else:
        Console().print(render.ledger_table(report.ingest))
        Console().print(render.stream_table(report.tables))


quarantine_app = typer.Typer(help="Inspect and replay quarantined records.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
ReasonOption = Annotated[str | None, typer.Option(help="Only records quarantined for this reason.")]


def _store(db: Path | None, config: Path | None) -> Any:
    from shopstream.ingest.store import connect

    settings = load_settings(config).ingest
    path = db if db is not None else settings.db
    if not Path(path).exists():
        raise ShopstreamError(f"no database at {path}; run `shopstream ingest` first or pass --db")
    return settings, connect(path)


@quarantine_app.command("list")
def quarantine_list(
    reason: ReasonOption = None,
    source: Annotated[str | None, typer.Option(help="Only records from this source.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many records.")] = 50,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    config: ConfigOption = None,
) -> None:
    """List quarantined records, newest first, with their reason and field."""
    from shopstream.ingest.quarantine import Filter, counts, list_records

    _, connection = _store(db, config)
    records = list_records(connection, Filter(reason=reason, source=source), limit)
    if as_json:
        for row in records.to_pylist():
            typer.echo(json.dumps(row, default=str))
    else:
        by_reason = ", ".join(f"{r} {n:,}" for r, n in counts(connection).items()) or "empty"
        Console().print(render.records_table(records, f"quarantine ({by_reason})"))
    connection.close()


@quarantine_app.command("show")
def quarantine_show(
    quarantine_id: Annotated[str, typer.Argument(help="Id from `shopstream quarantine list`.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Show one quarantined record as JSON, its raw text included."""
    from shopstream.ingest.quarantine import show

    _, connection = _store(db, config)
    typer.echo(json.dumps(show(connection, quarantine_id), default=str, indent=2))
    connection.close()


@quarantine_app.command("replay")
def quarantine_replay(
    ids: Annotated[list[str] | None, typer.Argument(help="Ids to replay (default: all matching).")] = None,
    reason: ReasonOption = None,
    mapping: Annotated[
        str | None, typer.Option(help="Replay through this mapping instead of the one recorded.")
    ] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ledger as one JSON object.")] = False,
    config: ConfigOption = None,
) -> None:
    """Re-ingest quarantined records after a mapping or rule fix; accepted ones leave the quarantine."""
    from shopstream.ingest.mapping import load_mapping
    from shopstream.ingest.pipeline import Ingestor, IngestReport
    from shopstream.ingest.quarantine import Filter, replay

    settings, connection = _store(db, config)
    chosen = None if mapping is None else load_mapping(mapping)
    ledger = replay(
        Ingestor(connection, settings, mapping=chosen), Filter(reason=reason, ids=tuple(ids or ()))
    )
    connection.close()
    report = IngestReport()
    report.add(ledger)
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        Console().print(render.ledger_table(report, "replay ledger"))


alerts_app = typer.Typer(help="List, acknowledge and resolve alerts.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
AlertIdArgument = Annotated[str, typer.Argument(help="Id from `shopstream alerts list`.")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who (default: your OS user name).")]
ALERT_COLUMNS = ["alert_id", "status", "severity", "anomaly_type", "scope", "occurrences", "description"]


class AlertStatus(StrEnum):
    ACTIVE = "active"
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ALL = "all"


def _alert_store(db: Path | None, config: Path | None) -> Any:
    from shopstream.alerts import create_tables

    connection = _store(db, config)[1]
    create_tables(connection)
    return connection


@alerts_app.command("list")
def alerts_list(
    status: Annotated[AlertStatus, typer.Option(help="active = open or acknowledged.")] = AlertStatus.ACTIVE,
    limit: Annotated[int, typer.Option(min=1, help="At most this many alerts.")] = 100,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    config: ConfigOption = None,
) -> None:
    """List alerts, most recently updated first, and how their notifications fared."""
    from shopstream.alerts import delivery_stats, list_alerts

    with _alert_store(db, config) as connection:
        alerts = list_alerts(connection, status.value, limit)
        if as_json:
            for row in alerts.to_pylist():
                typer.echo(json.dumps(row, default=str))
            return
        table = render.records_table(
            alerts.select([*ALERT_COLUMNS, "last_window_end", "description"]), "alerts"
        )
        table.caption = render.deliveries_caption(delivery_stats(connection))
        Console().print(table)


def _change_by_hand(change: str, alert_id: str, by: str | None, db: Path | None, config: Path | None) -> None:
    from shopstream.alerts import acknowledge, resolve

    with _alert_store(db, config) as connection:
        alert = (acknowledge if change == "acknowledged" else resolve)(connection, alert_id, by)
    typer.echo(f"alert {alert_id} {change} by {alert[change + '_by']}")


@alerts_app.command("ack")
def alerts_ack(
    alert_id: AlertIdArgument, by: ByOption = None, db: DbOption = None, config: ConfigOption = None
) -> None:
    """Acknowledge an open alert: it stays live, and people know someone is on it."""
    _change_by_hand("acknowledged", alert_id, by, db, config)


@alerts_app.command("resolve")
def alerts_resolve(
    alert_id: AlertIdArgument, by: ByOption = None, db: DbOption = None, config: ConfigOption = None
) -> None:
    """Resolve an alert by hand; if the condition returns, a new alert opens."""
    _change_by_hand("resolved", alert_id, by, db, config)


def main() -> None:
    """Entry point of the ``shopstream`` script."""
    configure()
    try:
        app()
    except ShopstreamError as error:  # raised outside a command, e.g. while reading settings
        render.print_error(str(error))
        raise SystemExit(1) from None
