"""Training checkpoints: an interrupted U-Net training resumes at its last validation.

At every validation, `train_unet` writes its whole state to the checkpoint file: the
network's and the optimiser's tensors, the best network so far, the training log, the
patience counter, the minutes spent and the random generators (numpy's, as JSON, and
PyTorch's). Run again with the same settings, it loads the state and goes on from the
next step, so the network it ends with is the one an uninterrupted run ends with
(tested on the CPU). A checkpoint of other settings (another store, annotations or
painted pixel counts, level, seed, network, patch, rotations) is ignored and overwritten; one that cannot be read is
ignored too. The file is written whole and then renamed, so an interruption while
writing leaves the previous checkpoint. Read with ``torch.load(weights_only=True)``:
no pickled code runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path


def checkpoint_key(settings: dict) -> str:
    """A fingerprint of the training settings (JSON-able values) a checkpoint belongs to."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` (tensors, numbers, strings, lists and dicts of them) to ``path``,
    atomically."""
    import torch

    path = Path(path)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    partial = path.with_name(path.name + ".writing")
    partial.write_bytes(buffer.getvalue())
    os.replace(partial, path)


def load_checkpoint(path: str | os.PathLike | None, key: str) -> dict | None:
    """The state saved at ``path`` for the settings ``key``; None where there is none,
    it belongs to other settings, or it cannot be read."""
    import torch

    if path is None or not Path(path).is_file():
        return None
    try:
        state = torch.load(io.BytesIO(Path(path).read_bytes()), map_location="cpu", weights_only=True)
    except Exception:  # a truncated or foreign file: start again
        return None
    return state if isinstance(state, dict) and state.get("key") == key else None
