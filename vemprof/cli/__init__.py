"""The ``vemprof`` command line."""

from vemprof.cli._app import app, main

__all__ = ["app", "main"]
