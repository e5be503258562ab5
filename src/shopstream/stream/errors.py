"""Errors of the stream stage."""

from __future__ import annotations

from shopstream.errors import ShopstreamError


class StreamError(ShopstreamError):
    """The stream cannot run: a broken database or an impossible setting."""
