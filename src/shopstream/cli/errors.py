"""Errors of the command line itself: options that cannot be combined."""

from __future__ import annotations

from shopstream.errors import ShopstreamError


class UsageError(ShopstreamError):
    """The options given to a command contradict each other or are incomplete."""
