"""Running steps on a dataset store: chains of operations; pipelines as files (the
workflow's steps and parameters in YAML, validated: `load_pipeline`, `DEFAULT_PIPELINE`);
`profile`, which runs a pipeline on a store, skipping the steps done before unchanged;
`profile_many` over many stores, here or on a Dask cluster (`dask_client`), and `summarise`."""

from vemprof.pipeline._batch import dask_client, profile_many, profile_store, summarise
from vemprof.pipeline._ops_chain import run_ops_chain
from vemprof.pipeline._profile import StepOutcome, profile
from vemprof.pipeline._spec import DEFAULT_PIPELINE, ORDER, Pipeline, load_pipeline, pipeline_text

__all__ = ["DEFAULT_PIPELINE", "ORDER", "Pipeline", "StepOutcome", "dask_client", "load_pipeline", "pipeline_text",
           "profile", "profile_many", "profile_store", "run_ops_chain", "summarise"]
