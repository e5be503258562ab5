"""How a shopstream process is set up as a whole: applied by its entry points (the
``shopstream`` command and the benchmark's child processes), never on import, so a
program that imports shopstream as a library keeps its own choices.
"""

from __future__ import annotations

import os

import pyarrow as pa

ARROW_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def configure() -> None:
    """Arrow allocates from the C library's allocator (unless ``ARROW_DEFAULT_MEMORY_POOL``
    names another).

    Arrow's default, mimalloc, gives freed pages back to the kernel within milliseconds;
    ingestion frees and allocates some hundred MB per batch, so every batch faulted its
    memory in again: about 1 CPU-second of system time per 2M Parquet events here
    (docs/ingest.md § Performance).
    """
    if ARROW_POOL_VARIABLE not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())
