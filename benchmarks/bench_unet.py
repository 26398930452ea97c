"""Benchmark: U-Net inference speed on the CPU, onnxruntime against PyTorch eager (issue 15, item 6).

The default network (`vemprof.learn._unet.NETWORK`, 3 classes, weights as initialised:
the speed does not depend on them) on the same batches of 256 × 256 tiles of random grey
values: onnxruntime running the exported ``unet.onnx`` (what ``predict`` does on the CPU)
and PyTorch eager (``torch.inference_mode``), every core. Mpixel/s of network input;
`predict` covers a plane with tiles overlapping by 64, so a volume's voxels cost
(256 / 192)² ≈ 1.8 tile pixels each. Then the whole `predict` of a phantom (tiles,
blending, clean-up, writing) from a model trained for a few steps.

Run: ``python benchmarks/bench_unet.py [--tiles 64] [--batch 8] [--shape 96,512,512]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from vemprof.learn import annotate_planes, classify_store, save_model, train_unet
from vemprof.learn._unet import OnnxNetwork, TorchNetwork, build_network, onnx_bytes
from vemprof.store import write_dataset
from vemprof.synth import make_phantom


def per_second(run, batches: list[np.ndarray]) -> float:
    """Mpixel/s of ``run`` over ``batches`` (after one warm-up batch)."""
    run(batches[0])
    started = time.perf_counter()
    for batch in batches:
        run(batch)
    return sum(b.size for b in batches) / (time.perf_counter() - started) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--shape", default="96,512,512", help="phantom for the whole predict")
    arguments = parser.parse_args()
    torch.manual_seed(0)
    network = build_network(3).eval()
    rng = np.random.default_rng(0)
    batches = [rng.random((arguments.batch, 1, 256, 256), dtype=np.float32)
               for _ in range(arguments.tiles // arguments.batch)]
    onnx = per_second(OnnxNetwork(onnx_bytes(network, tile=256)), batches)
    eager = per_second(TorchNetwork(network, "cpu"), batches)
    print(f"{torch.get_num_threads()} threads; {arguments.tiles} tiles of 256 × 256 in batches of {arguments.batch}")
    print("| engine | Mpixel/s | × PyTorch eager |")
    print("|---|---:|---:|")
    print(f"| onnxruntime (predict on CPU) | {onnx:.2f} | {onnx / eager:.2f} |")
    print(f"| PyTorch eager | {eager:.2f} | 1.00 |")

    shape = tuple(int(n) for n in arguments.shape.split(","))
    with tempfile.TemporaryDirectory() as scratch:
        phantom = make_phantom(shape=shape)
        store = write_dataset(Path(scratch) / "cell.zarr", raw=phantom.image, spacing=phantom.spacing,
                              labels={n: phantom.labels[n] for n in ("nucleus", "mitochondria")}, tables={},
                              step="synth", parameters={})
        annotate_planes(store, "painted", from_labels=["nucleus", "mitochondria"], every=10, fraction=0.5)
        description, weights, others = train_unet(store, "painted", max_iterations=20, device="cpu")
        model = save_model(Path(scratch) / "unet", description, weights, others=others)
        started = time.perf_counter()
        classify_store(store, model, prefix="unet_", device="cpu")
        seconds = time.perf_counter() - started
    voxels = np.prod(shape)
    print(f"\nwhole predict of a {'×'.join(map(str, shape))} phantom ({voxels / 1e6:.1f} M voxels; tiles, blending, "
          f"clean-up of nucleus and mitochondria, writing): {seconds:.1f} s = {voxels / seconds / 1e6:.2f} Mvoxel/s")


if __name__ == "__main__":
    main()
