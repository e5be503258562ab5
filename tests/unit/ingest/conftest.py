"""Fixtures for ingestion tests: simulated feeds written once per session, a fixed clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopstream.generator.files import FORMATS, generate_files
from shopstream.settings import GeneratorSettings, IngestSettings


@pytest.fixture(scope="session")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A faulty simulated feed (anomaly rate 0.2, 40k events) in every format."""
    root = tmp_path_factory.mktemp("feeds")
    settings = GeneratorSettings(seed=5, anomaly_rate=0.2)
    for fmt in FORMATS:
        generate_files(settings, out=root / fmt, fmt=fmt, events=40_000, days=None)
    return {fmt: root / fmt for fmt in FORMATS}


@pytest.fixture
def settings() -> IngestSettings:
    return IngestSettings()
