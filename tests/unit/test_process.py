"""A shopstream process's own set-up (run in a fresh interpreter: it is process-wide)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

POOL = "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"
CONFIGURED = "from shopstream.process import configure; configure(); "
IMPORTED = "import shopstream.cli.main, shopstream.ingest, shopstream.stream.engine; "


def _pool(code: str, **environment: str) -> str:
    """Arrow's default pool after ``code`` in a fresh interpreter with ``environment``."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | environment
    done = subprocess.run(
        [sys.executable, "-c", code + POOL], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_arrow_allocates_from_the_c_library() -> None:
    assert _pool(CONFIGURED) == "system"


@pytest.mark.parametrize("pool", ["mimalloc", "jemalloc"])
def test_a_pool_the_user_names_is_kept(pool: str) -> None:
    assert _pool(CONFIGURED, ARROW_DEFAULT_MEMORY_POOL=pool) == pool


def test_importing_shopstream_changes_nothing() -> None:
    assert _pool(IMPORTED) == _pool("")
