"""Running steps on a dataset store: chains of operations (more recipes to come)."""

from vemprof.pipeline._ops_chain import run_ops_chain

__all__ = ["run_ops_chain"]
