"""Streaming files as they appear gives the tables of streaming them all at once."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from shopstream.generator.files import generate_files
from shopstream.settings import GeneratorSettings, Settings
from shopstream.stream.runner import follow, stream


def _figures(db: Path) -> list[tuple[object, ...]]:
    connection = duckdb.connect(str(db), read_only=True)
    rows = connection.sql(
        "SELECT (SELECT count(*) FROM events), (SELECT sum(revenue) FROM sales WHERE dimension = 'all'),"
        " (SELECT count(*) FROM audit), (SELECT sum(events) FROM window_metrics)"
    ).fetchall()
    connection.close()
    return rows


def test_follow_takes_files_as_they_appear_and_ends_like_a_replay(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    generate_files(GeneratorSettings(seed=3), out=feed, fmt="jsonl", events=6_000, days=None)
    lines = (feed / "events.jsonl").read_bytes().splitlines(keepends=True)
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a-events.jsonl").write_bytes(b"".join(lines[:3_000]))
    (parts / "b-events.jsonl").write_bytes(b"".join(lines[3_000:]))
    settings = Settings()

    whole = tmp_path / "whole.duckdb"
    stream(
        [feed / "customers.jsonl", feed / "products.jsonl", feed / "stores.jsonl", parts], settings, db=whole
    )

    watched = tmp_path / "watched"
    watched.mkdir()
    for name in ("customers.jsonl", "products.jsonl", "stores.jsonl"):
        shutil.copy(feed / name, watched / name)
    shutil.copy(parts / "a-events.jsonl", watched / "a-events.jsonl")
    polls = 0

    def stop() -> bool:
        nonlocal polls
        polls += 1
        if polls == 3:  # after the first file was taken, the second one lands
            shutil.copy(parts / "b-events.jsonl", watched / "b-events.jsonl")
        return polls > 4

    followed = tmp_path / "followed.duckdb"
    report = follow([watched], settings, db=followed, poll_seconds=0.05, stop=stop)
    assert report.ingest.received == 6_000
    assert _figures(followed) == _figures(whole)


def test_the_live_simulator_streams_events_as_the_clock_reaches_them(tmp_path: Path) -> None:
    db = tmp_path / "live.duckdb"
    started = datetime.now(UTC)
    report = stream([], Settings(), simulate=True, events=1_500, rate=3_000.0, db=db)
    assert report.ingest.received >= 1_500
    connection = duckdb.connect(str(db), read_only=True)
    first, last = connection.sql("SELECT epoch(min(event_ts)), epoch(max(event_ts)) FROM events").fetchall()[
        0
    ]
    landed = connection.sql("SELECT count(*) FROM events WHERE received_ts >= event_ts").fetchall()[0][0]
    accepted = connection.sql("SELECT count(*) FROM events").fetchall()[0][0]
    connection.close()
    assert first >= started.replace(second=0, microsecond=0).timestamp()  # the feed starts this minute
    assert last <= datetime.now(UTC).timestamp()  # nothing from the future
    assert landed == accepted  # each event was received once its time had come
