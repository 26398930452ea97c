"""The 2D U-Net: its network, its files, and how it runs (onnxruntime on CPU, PyTorch on GPU).

The network is MONAI's ``UNet`` (residual units, batch normalisation) with one input
channel, the normalised grey value, and one output channel per class, ending in a
softmax: it outputs class probabilities. In evaluation, batch normalisation uses the
statistics learnt in training, so a pixel's output depends only on the tile it lies in,
never on the batch, which keeps tiled prediction seamless (`_tiles`).

Files of a U-Net model (see `_model`): ``unet.onnx``, the network with its softmax
exported to ONNX (dynamic batch and tile size), which onnxruntime runs on CPU and which
travels to other tools; ``unet.pt``, the weights as a PyTorch state dict of tensors, read
with ``torch.load(weights_only=True)`` to run on a GPU.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from vemprof.errors import VemprofError
from vemprof.learn._features import _cores

#: The default network: channels per level (each level halves the tile), residual units.
NETWORK = {"channels": [16, 32, 64, 128], "residual_units": 2}
#: Tile edge and overlap for prediction, pixels (any multiple of the network's 8-pixel
#: stride works: the network is fully convolutional).
TILE = 256
OVERLAP = 64


def require_torch():
    """PyTorch, or a one-line error saying how to install it."""
    try:
        import torch
    except ImportError:
        raise VemprofError("the U-Net needs PyTorch: pip install torch==2.13.0 (CPU) and then "
                           "pip install 'vemprof[learn]'") from None
    return torch


def build_network(classes: int, network: dict = NETWORK):
    """A fresh MONAI 2D U-Net with a softmax over ``classes`` output channels."""
    torch = require_torch()
    try:
        from monai.networks.nets import UNet
    except ImportError:
        raise VemprofError("the U-Net needs MONAI: pip install 'vemprof[learn]'") from None

    channels = list(network["channels"])
    unet = UNet(spatial_dims=2, in_channels=1, out_channels=classes, channels=channels,
                strides=[2] * (len(channels) - 1), num_res_units=network["residual_units"], norm="batch")
    return torch.nn.Sequential(unet, torch.nn.Softmax(dim=1))


def multiple_of(network: dict = NETWORK) -> int:
    """Tile edges must be multiples of this (2 to the number of downsamplings)."""
    return 2 ** (len(network["channels"]) - 1)


def state_bytes(model) -> bytes:
    """The model's weights as ``unet.pt`` bytes (a state dict of tensors)."""
    torch = require_torch()

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def onnx_bytes(model, *, tile: int) -> bytes:
    """The model (in evaluation mode) exported to ONNX: input ``image`` (n, 1, h, w)
    float32, output ``probabilities`` (n, classes, h, w), n, h and w free."""
    torch = require_torch()

    model.eval()
    buffer = io.BytesIO()
    axes = {0: "tiles", 2: "height", 3: "width"}
    with warnings.catch_warnings():  # the TorchScript exporter announces its successor
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 1, tile, tile), buffer, input_names=["image"],
                          output_names=["probabilities"], dynamic_axes={"image": axes, "probabilities": axes},
                          opset_version=17, dynamo=False)
    return buffer.getvalue()


def load_network(weights_pt: bytes, classes: int, network: dict):
    """The network with the weights of ``unet.pt`` (read without unpickling code)."""
    torch = require_torch()

    model = build_network(classes, network)
    try:
        state = torch.load(io.BytesIO(weights_pt), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as error:  # torch raises pickle and runtime errors of many kinds
        raise VemprofError(f"the model's unet.pt is not a U-Net of this shape ({type(error).__name__}); "
                           "retrain the model") from None
    return model.eval()


def choose_device(device: str) -> str:
    """``auto`` → ``cuda`` where PyTorch sees a CUDA GPU, else ``cpu``; ``cuda`` is refused
    without one."""
    if device not in ("auto", "cpu", "cuda"):
        raise VemprofError(f"--device must be auto, cpu or cuda, got {device!r}")
    if device == "cpu":
        return "cpu"
    try:
        import torch
    except ImportError:  # predicting on the CPU needs only onnxruntime
        if device == "cuda":
            raise VemprofError("--device cuda needs PyTorch with CUDA; install it, or use --device cpu") from None
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise VemprofError("--device cuda asked for, but PyTorch sees no CUDA GPU here; use --device cpu (or auto)")
    return "cpu"


class OnnxNetwork:
    """Runs ``unet.onnx`` on the CPU with onnxruntime, all cores on each batch of tiles."""

    def __init__(self, weights: bytes):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = _cores()
        try:
            self.session = onnxruntime.InferenceSession(weights, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise VemprofError(f"the model's unet.onnx is not a valid ONNX model ({type(error).__name__}); "
                               "retrain the model") from None

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        return self.session.run(["probabilities"], {"image": np.ascontiguousarray(tiles, dtype=np.float32)})[0]


class TorchNetwork:
    """Runs the network with PyTorch on ``device`` (bfloat16 on CUDA), without gradients."""

    def __init__(self, model, device: str):
        self.model, self.device = model.to(device).eval(), device

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode(), torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.device == "cuda"):
            out = self.model(torch.from_numpy(np.ascontiguousarray(tiles, dtype=np.float32)).to(self.device))
        return out.float().cpu().numpy()
