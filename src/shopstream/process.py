"""How a shopstream process is set up as a whole: applied by its entry points (the
``shopstream`` command and the benchmark's child processes), never on import, so a
program that imports shopstream as a library keeps its own choices.

Both settings keep memory the process has freed for its next batch instead of handing
it back to the kernel at once: shopstream allocates and frees some hundred MB per batch,
and memory handed back is faulted in again, page by page, on the next one. The price is
a resident size that stays near its peak. Measurements: README.md § Measuring performance.
"""

from __future__ import annotations

import ctypes
import os
import sys

import pyarrow as pa

ARROW_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"
GLIBC_VARIABLES = ("GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")
# glibc's mallopt parameters (malloc.h) and the values set
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MALLOPT = (
    (_M_MMAP_THRESHOLD, 32 << 20),  # blocks up to 32 MiB (glibc's most) from the heap, not mmap
    (_M_TRIM_THRESHOLD, 1 << 30),  # give the heap's free top back only beyond 1 GiB
    (_M_TOP_PAD, 256 << 20),  # and grow it 256 MiB at a time
)


def configure() -> None:
    """Set this process up for shopstream's batches (each setting unless the environment
    already chose it):

    - Arrow allocates from the C library, not from its default, mimalloc, which gave
      freed pages back within milliseconds (about 1 system CPU-second per 2M Parquet
      events ingested);
    - on glibc, ``malloc`` keeps freed blocks and the heap's free top (about 5% of the
      simulator's wall time; neutral for ingestion).
    """
    if ARROW_POOL_VARIABLE not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())
    if sys.platform == "linux" and not any(name in os.environ for name in GLIBC_VARIABLES):
        _keep_freed_memory()


def _keep_freed_memory() -> None:
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, for one): its defaults stand
        return
    for parameter, value in _MALLOPT:
        mallopt(parameter, value)
