"""Running steps on a dataset store: chains of operations; pipelines as files (the
workflow's steps and parameters in YAML, validated: `load_pipeline`, `DEFAULT_PIPELINE`)."""

from vemprof.pipeline._ops_chain import run_ops_chain
from vemprof.pipeline._spec import DEFAULT_PIPELINE, ORDER, Pipeline, load_pipeline, pipeline_text

__all__ = ["DEFAULT_PIPELINE", "ORDER", "Pipeline", "load_pipeline", "pipeline_text", "run_ops_chain"]
