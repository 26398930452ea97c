"""Running steps on a dataset store: chains of operations; pipelines as files (the
workflow's steps and parameters in YAML, validated: `load_pipeline`, `DEFAULT_PIPELINE`);
`profile`, which runs a pipeline on a store, skipping the steps done before unchanged."""

from vemprof.pipeline._ops_chain import run_ops_chain
from vemprof.pipeline._profile import StepOutcome, profile
from vemprof.pipeline._spec import DEFAULT_PIPELINE, ORDER, Pipeline, load_pipeline, pipeline_text

__all__ = ["DEFAULT_PIPELINE", "ORDER", "Pipeline", "StepOutcome", "load_pipeline", "pipeline_text", "profile",
           "run_ops_chain"]
