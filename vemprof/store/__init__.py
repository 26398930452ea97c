"""The dataset store: one OME-Zarr group per dataset with raw, labels, probabilities,
tables and provenance."""

from vemprof.store._provenance import fingerprint
from vemprof.store._store import DEFAULT_CHUNKS, Store, is_store

__all__ = ["DEFAULT_CHUNKS", "Store", "fingerprint", "is_store"]
