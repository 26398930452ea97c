"""The report of a profiled dataset: one self-contained HTML file with its figures, tables
beside it as Parquet and CSV (`write_report`)."""

from vemprof.report._html import REPORT, write_report

__all__ = ["REPORT", "write_report"]
