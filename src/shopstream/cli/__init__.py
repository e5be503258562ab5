"""The ``shopstream`` command line: thin Typer commands, each calling one core function.

Only this package imports Typer. :mod:`~shopstream.cli.main` holds the commands,
:mod:`~shopstream.cli.render` turns core results into Rich tables and lines.
"""
