"""The dataset store: one OME-Zarr group per dataset with raw, labels, probabilities,
tables and provenance; imports into it and exports out of it."""

from vemprof.store._destination import check_destination, check_output_file, job_key, refuse_existing
from vemprof.store._export import export_tiff
from vemprof.store._import import ImportResult, import_annotations, import_labels, import_volume
from vemprof.store._new import write_dataset
from vemprof.store._provenance import fingerprint
from vemprof.store._store import DEFAULT_CHUNKS, Store, is_store
from vemprof.store._tiled import MakeTile, Tile, write_tiled_dataset
from vemprof.store._writer import DEFAULT_MEMORY_MIB, chunk_count, is_complete, write_resumable

__all__ = [
    "DEFAULT_CHUNKS", "DEFAULT_MEMORY_MIB", "ImportResult", "MakeTile", "Store", "Tile", "check_destination",
    "check_output_file", "chunk_count", "export_tiff", "fingerprint", "import_annotations", "import_labels",
    "import_volume", "is_complete", "is_store", "job_key", "refuse_existing", "write_dataset", "write_resumable",
    "write_tiled_dataset",
]
