"""Shared by the benchmarks: run a snippet in a fresh Python process and measure it."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def run_measured(code: str) -> tuple[float, float]:
    """Seconds and peak resident memory (MiB) of ``code`` in a fresh Python process."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"benchmark process failed with status {status}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024
