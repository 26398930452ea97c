"""Shared fixtures: running the command line in-process."""

import sys

import pytest

from vemprof.cli import main


class CliResult:
    def __init__(self, code: int, stdout: str, stderr: str):
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


@pytest.fixture
def vemprof_cli(capsys, monkeypatch):
    """Run ``vemprof ARGS…`` as a user would; returns exit code, stdout and stderr."""

    def run(*args) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["vemprof", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code or 0
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
