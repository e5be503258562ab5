"""The micro-batch stream: event-time windows, sessions, inventory, detectors (see :mod:`.engine`)."""

from shopstream.stream.detectors import DETECTORS, Baseline, Finding, Window
from shopstream.stream.engine import StreamProcessor, create_tables

__all__ = ["DETECTORS", "Baseline", "Finding", "StreamProcessor", "Window", "create_tables"]
