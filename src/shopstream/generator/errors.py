"""Errors of the shop simulator: settings or arguments it cannot work with."""

from shopstream.errors import ShopstreamError


class GeneratorError(ShopstreamError):
    """The simulator was asked for something it cannot do; the message says what to change."""
