"""PyTorch reference timings for `deno task bench` (tests/bench/side_by_side_bench.ts).

Times the same training steps as tests/bench/step_fixture.ts, in PyTorch on the CPU: the
reference CNN (batch 128, 1x28x28) and ResNet-20 (batch 128, 3x32x32, option-A shortcuts),
label-smoothed cross-entropy with s/(K-1) off-target mass (s = 0.1), SGD with momentum 0.9
and weight decay 5e-4 at lr 0.01, and SAM (rho = 0.05, global gradient norm, second pass at
the perturbed point, BatchNorm statistics from the first pass only).

Also times one loss-and-gradient evaluation ("grad") and an exact Hessian-vector product by
double backpropagation ("hvp", a unit random vector).

Usage: python3 torch_step.py --threads 1,2 --steps 10 --models cnn,cnn-bn,resnet20
Prints one JSON object: {"torch": version, "results": [{model, what, threads, ms}]}, ms
being the median wall time of one call.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Cnn(nn.Module):
    """conv3x3x32 -> relu -> maxpool2 -> conv3x3x64 -> relu -> maxpool2 -> dense 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(7 * 7 * 64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


class CnnBn(nn.Module):
    """The reference CNN with BatchNorm after each (bias-free) convolution."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.fc = nn.Linear(7 * 7 * 64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(torch.flatten(x, 1))


class Block(nn.Module):
    """Basic residual block with an option-A (subsample + zero-pad channels) shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if stride != 1 or cin != cout else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(y + s)


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for s, width in enumerate([16, 32, 64]):
            for i in range(3):
                blocks.append(Block(cin, width, 2 if s > 0 and i == 0 else 1))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def smooth_ce(logits, labels, s=0.1):
    k = logits.shape[1]
    q = torch.full_like(logits, s / (k - 1)).scatter_(1, labels[:, None], 1 - s)
    return -(q * F.log_softmax(logits, 1)).sum(1).mean()


def make_grad(model):
    params = [p for p in model.parameters()]

    def grad(x, y):
        return torch.autograd.grad(smooth_ce(model(x), y), params)[0]

    return grad


def make_hvp(model):
    params = [p for p in model.parameters()]
    gen = torch.Generator().manual_seed(1)
    v = [torch.randn(p.shape, generator=gen) for p in params]
    norm = torch.norm(torch.stack([t.norm(2) for t in v]), 2)
    v = [t / norm for t in v]

    def hvp(x, y):
        g = torch.autograd.grad(smooth_ce(model(x), y), params, create_graph=True)
        dot = sum((a * b).sum() for a, b in zip(g, v))
        return torch.autograd.grad(dot, params)[0]

    return hvp


def make_step(model, optimizer):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    params = [p for p in model.parameters()]

    def sgd(x, y):
        opt.zero_grad()
        loss = smooth_ce(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def sam(x, y):
        opt.zero_grad()
        loss = smooth_ce(model(x), y)
        loss.backward()
        with torch.no_grad():
            norm = torch.norm(torch.stack([p.grad.norm(2) for p in params]), 2)
            scale = 0.05 / (norm + 1e-12)
            eps = [p.grad * scale for p in params]
            for p, e in zip(params, eps):
                p.add_(e)
        # The second pass must not update the BatchNorm running statistics.
        momenta = [m.momentum for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = 0.0
        opt.zero_grad()
        smooth_ce(model(x), y).backward()
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        for m, mom in zip(bns, momenta):
            m.momentum = mom
        with torch.no_grad():
            for p, e in zip(params, eps):
                p.sub_(e)
        opt.step()
        return loss

    return sgd if optimizer == "sgd" else sam


def time_step(name, what, threads, steps):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if name == "cnn":
        model, shape = Cnn(), (128, 1, 28, 28)
    elif name == "cnn-bn":
        model, shape = CnnBn(), (128, 1, 28, 28)
    else:
        model, shape = ResNet20(), (128, 3, 32, 32)
    model.train()
    x = torch.randn(shape)
    y = torch.randint(0, 10, (128,))
    if what in ("sgd", "sam"):
        step = make_step(model, what)
    else:
        step = make_grad(model) if what == "grad" else make_hvp(model)
    for _ in range(3):
        step(x, y).sum().item()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step(x, y).sum().item()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--models", default="cnn,cnn-bn,resnet20")
    args = ap.parse_args()
    results = []
    for model in args.models.split(","):
        for what in ["sgd", "sam", "grad", "hvp"]:
            for threads in [int(t) for t in args.threads.split(",")]:
                ms = time_step(model, what, threads, args.steps)
                results.append({"model": model, "what": what, "threads": threads, "ms": ms})
    print(json.dumps({"torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
