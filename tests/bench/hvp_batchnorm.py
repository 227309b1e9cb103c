"""Exact reference for tests/bench/hvp_batchnorm.ts: ResNet-20's loss and gradient in float64
and its Hessian-vector products by double backpropagation (the authors' HVP) in PyTorch.

Usage (started by hvp_batchnorm.ts, not by hand):

    python3 hvp_batchnorm.py CHECKPOINT DIR

CHECKPOINT is a late-sam safetensors checkpoint of `resnet20` (read with the standard
library: an 8-byte little-endian header length, a JSON header, raw little-endian bytes).
DIR holds what the TypeScript side wrote: `layout.json` ({"names", "shapes", "chunk"}: the
flat parameter order of core/metrics/vector.ts), `images.f32` (NHWC, normalized) and
`labels.i32`, and two named pipes, `request` and `response`.

The model is torch_step.py's ResNet20 (option-A shortcuts) with the stem widened to the
checkpoint's input channels; tfjs kernels are transposed into PyTorch layouts
(conv [KH, KW, Cin, Cout] -> [Cout, Cin, KH, KW], dense [in, out] -> [out, in]). The loss is
what core/metrics/hvp.ts differentiates: plain cross-entropy, train-mode BatchNorm with
each chunk normalized by its own statistics, chunk means weighted by size / n.

Products run in float32 (HVP_DTYPE=float64 for float64): PyTorch's float64 convolutions on the
CPU take minutes per double-backward pass, and float32 double backprop is exact to rounding,
~1e-6 relative, far below the finite-difference errors measured.

Protocol: on start it writes the loss (one float64) and the gradient (dim float64, flat in
the TypeScript order) to `response`; then for every request (one float64 `mode`, then a vector
v of dim float64) it writes dim float64: for mode 0, H.v by double backpropagation; for mode
e != 0, PyTorch's own central difference (g(t + e u) - g(t - e u)) |v| / 2e with u = v/|v|,
in float64 for e > 0 and float32 for e < 0 (a control: with float64 only the ReLU kinks
crossed remain). It exits when `request` is closed.
"""

import copy
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_step import ResNet20  # noqa: E402


def read_checkpoint(path):
    """Tensor name -> float64 numpy array, from a safetensors file of F32 tensors."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        body = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} has dtype {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        values = np.frombuffer(body[start:end], dtype="<f4").astype(np.float64)
        out[name] = values.reshape(info["shape"])
    return out


def torch_parameter(model, name):
    """The PyTorch parameter of a tfjs parameter name, and how to convert between layouts."""
    parts = name.split("/")
    if parts[0] == "stem":
        module = model.conv if parts[1] == "conv" else model.bn
    elif parts[0] == "classifier":
        module = model.fc
    else:
        stage, unit = int(parts[0][len("stage"):]), int(parts[1][len("unit"):])
        module = getattr(model.blocks[(stage - 1) * 3 + unit], parts[2])
    leaf = parts[-1]
    if leaf == "kernel" and isinstance(module, nn.Conv2d):
        return module.weight, (3, 2, 0, 1), (2, 3, 1, 0)
    if leaf == "kernel":
        return module.weight, (1, 0), (1, 0)
    if leaf in ("gamma", "beta", "bias"):
        return (module.weight if leaf == "gamma" else module.bias), None, None
    raise ValueError(f"no PyTorch parameter for {name}")


def read_exact(stream, count):
    data = bytearray()
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            return None
        data.extend(chunk)
    return bytes(data)


def main():
    checkpoint, folder = sys.argv[1], sys.argv[2]
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    with open(os.path.join(folder, "layout.json")) as f:
        layout = json.load(f)
    names, shapes, chunk = layout["names"], layout["shapes"], layout["chunk"]
    tensors = read_checkpoint(checkpoint)
    model = ResNet20()
    cin = shapes[names.index("stem/conv/kernel")][2]
    model.conv = nn.Conv2d(cin, 16, 3, 1, 1, bias=False)
    model = model.double().train()
    params, to_torch, to_tfjs = [], [], []
    with torch.no_grad():
        for name, shape in zip(names, shapes):
            p, forward, backward = torch_parameter(model, name)
            value = torch.from_numpy(tensors["params/" + name])
            if list(value.shape) != shape:
                raise ValueError(f"{name}: checkpoint shape {list(value.shape)}, layout {shape}")
            p.copy_(value.permute(*forward) if forward else value)
            params.append(p)
            to_torch.append(forward)
            to_tfjs.append(backward)
    if sum(p.numel() for p in model.parameters()) != sum(p.numel() for p in params):
        raise ValueError("the layout does not cover every PyTorch parameter")
    h, w = layout["height"], layout["width"]
    images = np.fromfile(os.path.join(folder, "images.f32"), dtype="<f4")
    labels = np.fromfile(os.path.join(folder, "labels.i32"), dtype="<i4")
    x = torch.from_numpy(images.astype(np.float64)).reshape(len(labels), h, w, cin)
    x = x.permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(labels.astype(np.int64))
    n = len(labels)

    def loss_of(net, inputs):
        total = 0
        for start in range(0, n, chunk):
            xc, yc = inputs[start:start + chunk], y[start:start + chunk]
            total = total + F.cross_entropy(net(xc), yc) * len(yc)
        return total / n

    # The product model: a copy in HVP_DTYPE, its parameters in the layout's order.
    dtype = getattr(torch, os.environ.get("HVP_DTYPE", "float32"))
    by_id = {id(p): i for i, p in enumerate(model.parameters())}
    order = [by_id[id(p)] for p in params]
    product_model = copy.deepcopy(model).to(dtype)
    product_params = [list(product_model.parameters())[i] for i in order]
    product_x = x.to(dtype)

    def flat(grads):
        pieces = [
            (g.permute(*back) if back else g).reshape(-1) for g, back in zip(grads, to_tfjs)
        ]
        return torch.cat(pieces).double().numpy().astype("<f8").tobytes()

    def unflat(buffer):
        v = torch.from_numpy(np.frombuffer(buffer, dtype="<f8").copy())
        out, offset = [], 0
        for shape, fwd in zip(shapes, to_torch):
            size = int(np.prod(shape))
            t = v[offset:offset + size].reshape(shape)
            out.append(t.permute(*fwd) if fwd else t)
            offset += size
        return out

    def central_difference(mode, v):
        fd_dtype = torch.float64 if mode > 0 else torch.float32
        net = copy.deepcopy(model).to(fd_dtype)
        net_params = [list(net.parameters())[i] for i in order]
        inputs = x.to(fd_dtype)
        norm = torch.sqrt(sum((t * t).sum() for t in v))
        step = abs(mode) / norm
        base = [p.detach().clone() for p in net_params]
        grads = []
        for sign in (1, -1):
            with torch.no_grad():
                for p, b, t in zip(net_params, base, v):
                    p.copy_(b + sign * step * t.to(fd_dtype))
            grads.append(torch.autograd.grad(loss_of(net, inputs), net_params))
        return [(a.double() - b.double()) / (2 * step) for a, b in zip(*grads)]

    dim = sum(int(np.prod(s)) for s in shapes)
    with open(os.path.join(folder, "request"), "rb") as request, open(
        os.path.join(folder, "response"), "wb"
    ) as response:
        loss = loss_of(model, x)
        grads = torch.autograd.grad(loss, params)
        response.write(struct.pack("<d", loss.item()) + flat(grads))
        response.flush()
        while True:
            header = read_exact(request, 8)
            buffer = read_exact(request, dim * 8) if header else None
            if buffer is None:
                return
            (mode,) = struct.unpack("<d", header)
            if mode == 0:
                v = [t.to(dtype) for t in unflat(buffer)]
                loss = loss_of(product_model, product_x)
                g = torch.autograd.grad(loss, product_params, create_graph=True)
                dot = sum((a * b).sum() for a, b in zip(g, v))
                response.write(flat(torch.autograd.grad(dot, product_params)))
            else:
                response.write(flat(central_difference(mode, unflat(buffer))))
            response.flush()


if __name__ == "__main__":
    main()
