"""The root of shopstream's exceptions.

Exceptions are for bad configuration and broken systems; bad *data* is never an
exception but a quarantine row. Every stage defines its specific subclasses in its
own ``errors.py``; the CLI turns any ``ShopstreamError`` into one red line.
"""


class ShopstreamError(Exception):
    """Base class of every error shopstream raises on purpose.

    The message must tell the user what to do next: which file, column or setting.
    """
