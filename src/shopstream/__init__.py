"""shopstream: real-time e-commerce analytics in one Python process.

Events flow from sources through ingestion (validate, dedupe, quarantine) into a
micro-batch stream engine and a star-schema warehouse on DuckDB; see DESIGN.md.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shopstream")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
