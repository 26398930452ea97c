"""The report of a profiled dataset: one self-contained HTML file with its figures, tables
beside it as Parquet and CSV (`write_report`; `write_page` and `write_tables` for other
pages, such as `vemprof batch`'s comparison)."""

from vemprof.report._html import REPORT, write_page, write_report, write_tables

__all__ = ["REPORT", "write_page", "write_report", "write_tables"]
