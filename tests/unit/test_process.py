"""A shopstream process's own set-up (run in a fresh interpreter: it is process-wide)."""

from __future__ import annotations

import os
import platform
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


FREED_AND_KEPT = """
import numpy as np
def resident_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
before = resident_mib()
block = np.ones(16 << 20, np.uint8)  # 16 MiB, touched
del block
print(resident_mib() - before)
"""


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only"
)
@pytest.mark.parametrize(
    ("code", "environment", "kept"),
    [
        (CONFIGURED, {}, True),
        ("", {}, False),  # glibc's own choice: a block this big is mapped and unmapped
        (CONFIGURED, {"GLIBC_TUNABLES": "glibc.malloc.perturb=0"}, False),  # the user's choice stands
    ],
)
def test_freed_memory_is_kept_for_the_next_batch(code: str, environment: dict[str, str], kept: bool) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    done = subprocess.run(
        [sys.executable, "-c", code + FREED_AND_KEPT],
        env=env | environment,
        capture_output=True,
        text=True,
        check=True,
    )
    kept_mib = int(done.stdout.strip())
    assert (kept_mib >= 15) if kept else (kept_mib < 4), kept_mib
