"""Cases shared by the engine tests (one place): losses, small models, the piecewise-linear cases, tiny zoo
sizes, the CLI's tiny zoo/data registry, and the dense-Hessian reference.

Losses follow the engine's convention: ``loss(outputs, targets)`` returns per-sample losses (B,).
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from empirics import curvature as C
from empirics.layers import resolve_layers


def ce(outputs, targets):
    return F.cross_entropy(outputs, targets, reduction="none")


def mse(outputs, targets):
    return 0.5 * ((outputs - targets) ** 2).sum(1)


def lm_ce(outputs, targets):
    b, t, v = outputs.shape
    return F.cross_entropy(outputs.reshape(b * t, v), targets.reshape(b * t), reduction="none").view(b, t).mean(1)


class TinyAttention(nn.Module):
    """Embedding, one pre-LN attention block with explicit softmax(QK^T/sqrt d)V (no fused SDPA), head."""

    def __init__(self, vocab: int = 11, d: int = 8):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.ln = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.head = nn.Linear(d, vocab)

    def forward(self, x):
        h = self.emb(x)
        q, k, v = self.qkv(self.ln(h)).chunk(3, -1)
        att = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, -1)
        h = h + self.proj(att @ v)
        return self.head(h)


def small_conv() -> nn.Module:
    m = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 3, 3, stride=2),
        nn.Flatten(),
        nn.Linear(27, 5),
    )
    with torch.no_grad():  # non-trivial running statistics
        m[1].running_mean.normal_()
        m[1].running_var.uniform_(0.5, 2.0)
        m[1].weight.uniform_(0.5, 1.5)
        m[1].bias.normal_()
    return m.eval()


def make_case(name: str, seed: int = 0):
    """(model, loss_fn, inputs, targets) in float64; the model in eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name == "mlp_ce":
            model = nn.Sequential(nn.Linear(6, 7), nn.Tanh(), nn.Linear(7, 4))
            x, y, lf = torch.randn(10, 6, generator=g), torch.randint(0, 4, (10,), generator=g), ce
        elif name == "mlp_mse":
            model = nn.Sequential(nn.Linear(6, 7), nn.Tanh(), nn.Linear(7, 4))
            x, y, lf = torch.randn(10, 6, generator=g), torch.randn(10, 4, generator=g), mse
        elif name == "conv_bn":
            model = small_conv()
            x, y, lf = torch.randn(6, 2, 7, 7, generator=g), torch.randint(0, 5, (6,), generator=g), ce
        elif name == "attention":
            model = TinyAttention()
            x, y, lf = torch.randint(0, 11, (4, 5), generator=g), torch.randint(0, 11, (4, 5), generator=g), lm_ce
        else:
            raise ValueError(name)
    model = model.double().eval()
    if x.is_floating_point():
        x = x.double()
    if y.is_floating_point():
        y = y.double()
    return model, lf, x, y


CASES = ("mlp_ce", "mlp_mse", "conv_bn", "attention")


TOL = 1e-10


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """Max relative error, relative to the largest |b| of the layer (directions with h ~ 0 are not amplified)."""
    return float(((a - b).abs() / b.abs().max()).max())


def setup_case(name: str, k: int = 3):
    model, lf, x, y = make_case(name)
    layers = resolve_layers(model)
    G = C.gradient_matrices(model, lf, x, y, layers)
    dirs = {n: C.layer_directions(model, n, C.top_k_directions(G[n], k)) for n in layers}
    return model, lf, x, y, layers, dirs


def dense_h(model, lf, x, y, name, D):
    f, w = C.objective(model, lf, x, y, name)
    H = torch.autograd.functional.hessian(f, w).reshape(w.numel(), w.numel())
    V = D.reshape(D.shape[0], -1)
    return torch.einsum("ki,ij,kj->k", V, H, V)


def dirs_of(model, lf, x, y, names, k: int = 3) -> dict[str, torch.Tensor]:
    """Top-k directions D_k of each named layer (parameter-shaped stacks)."""
    G = C.gradient_matrices(model, lf, x, y, names)
    return {n: C.layer_directions(model, n, C.top_k_directions(G[n], k)) for n in names}


def values(results) -> dict[str, torch.Tensor]:
    """``name -> h`` of a method's ``name -> CurvatureResult``."""
    return {n: r.values for n, r in results.items()}


# ---------------------------------------------------------------------------------------------------------
# piecewise-linear cases (the gn_exact shortcut and the output-adjoint form)


class Residual(nn.Module):
    """Linear stem, one residual ReLU block with an in-place add, head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(6, 8)
        self.fc1 = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 8)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        h = F.relu(self.stem(x))
        r = self.fc2(F.relu(self.fc1(h), inplace=True))
        r += h
        return self.head(F.relu(r))


class Square(nn.Module):
    """Multiplies two activations that depend on the first layer (x * x)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 4)

    def forward(self, x):
        h = self.a(x)
        return self.b(h * h)


class SoftmaxInside(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 4)

    def forward(self, x):
        return self.b(torch.softmax(self.a(x), -1))


def conv_pool():
    m = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 3, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(27, 5),
    )
    with torch.no_grad():
        m[1].running_mean.normal_()
        m[1].running_var.uniform_(0.5, 2.0)
        m[1].weight.uniform_(0.5, 1.5)
        m[1].bias.normal_()
    return m


def act_mlp(act):
    return nn.Sequential(nn.Linear(6, 7), act, nn.Linear(7, 5), act, nn.Linear(5, 4))


#: name -> (model factory, input kind, loss, layers that must be piecewise linear, layers that must not)
PL_CASES = {
    "conv_bn_relu_maxpool": (conv_pool, "img", ce, ["0", "4", "7"], []),
    "mlp_relu_ce": (lambda: act_mlp(nn.ReLU()), "vec", ce, ["0", "2", "4"], []),
    "mlp_relu_mse": (lambda: act_mlp(nn.ReLU()), "vec", mse, ["0", "2", "4"], []),
    "residual_relu": (Residual, "vec", ce, ["stem", "fc1", "fc2", "head"], []),
}
NON_PL_CASES = {
    "mlp_gelu": (lambda: act_mlp(nn.GELU()), "vec", ce, ["4"], ["0", "2"], "gelu"),
    "mlp_tanh": (lambda: act_mlp(nn.Tanh()), "vec", ce, ["4"], ["0", "2"], "tanh"),
    "layer_norm": (
        lambda: nn.Sequential(nn.Linear(6, 7), nn.LayerNorm(7), nn.ReLU(), nn.Linear(7, 4)),
        "vec",
        ce,
        ["3"],
        ["0"],
        "aten.var",
    ),
    "attention": (TinyAttention, "tok", lm_ce, ["proj", "head"], ["qkv"], "two tensors"),
    "x_times_x": (Square, "vec", ce, ["b"], ["a"], "two tensors"),
    "softmax_inside": (SoftmaxInside, "vec", ce, ["b"], ["a"], "softmax"),
}


def build_pl(factory, kind, loss):
    g = torch.Generator().manual_seed(5)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        model = factory().double().eval()
    if kind == "img":
        x, y = torch.randn(6, 2, 6, 6, generator=g), torch.randint(0, 5, (6,), generator=g)
    elif kind == "tok":
        x, y = torch.randint(0, 11, (4, 5), generator=g), torch.randint(0, 11, (4, 5), generator=g)
    else:
        x = torch.randn(10, 6, generator=g)
        y = torch.randn(10, 4, generator=g).double() if loss is mse else torch.randint(0, 4, (10,), generator=g)
    if x.is_floating_point():
        x = x.double()
    return model, loss, x, y


# ---------------------------------------------------------------------------------------------------------
# tiny zoo sizes

TINY_ZOO = {
    "mlp": {"width": 8},
    "resnet18_cifar": {"width": 4},
    "resnet18_imagenet": {"width": 4},
    "vgg11": {"width": 4},
    "resnet50_cifar": {"width": 2},
    "resnet50_tiny": {"width": 2},
    "resnet50_imagenet": {"width": 2},
    "vit_tiny": {"width": 8, "depth": 2, "n_head": 2},
    "gpt2": {"d_model": 8, "n_head": 2, "n_layer": 2, "context": 8},
    "gpt2_6l": {"d_model": 12, "n_head": 6, "n_layer": 6, "context": 8},
}


# ---------------------------------------------------------------------------------------------------------
# the CLI's zoo/data seam (empirics.cli._api) replaced by a tiny registry


class NotFound(FileNotFoundError):
    pass


def tiny_build(name, *, num_classes, seed=0, **_):
    if name != "tiny_mlp":
        raise ValueError(f"unknown model {name!r}; choose from tiny_mlp")
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 5), nn.Tanh(), nn.Linear(5, num_classes))


def tiny_load(name, *, split="train", root=None, n_classes=None, image_size=None, n_samples=None, seed=0):
    if name == "missing":
        raise NotFound("dataset 'missing' not found; put it under /nowhere")
    if name not in ("tiny", "empty"):
        raise ValueError(f"unknown dataset {name!r}; choose from tiny, empty")
    n = 0 if name == "empty" else 12
    g = torch.Generator().manual_seed(seed)
    return SimpleNamespace(
        inputs=torch.randn(n, 6, generator=g),
        targets=torch.randint(0, 3, (n,), generator=g),
        name=name,
        kind="synthetic",
        n_classes=3,
        task="classification",
        meta={},
    )


TINY_API = SimpleNamespace(
    MODEL_NAMES=("tiny_mlp",),
    ARCHITECTURES={"tiny_mlp": "mlp"},
    build_model=tiny_build,
    layer_table=lambda model: {"0": "dense", "2": "dense", "4": "head"},
    load_dataset=tiny_load,
    loss_for=lambda ds: ce,
    DatasetNotFound=NotFound,
)


# ---------------------------------------------------------------------------------------------------------
# the layer loop with keyword settings


def run_layers(model, loss_fn, x, y, *, layer_types, skip=frozenset(), on_layer=None, progress=False, **settings):
    """:func:`empirics.measurement.runner.measure_layers` with the settings given as keywords."""
    from empirics.measurement.runner import measure_layers
    from empirics.quantities import MeasureSettings

    return measure_layers(
        model, loss_fn, x, y, layer_types, MeasureSettings(**settings), skip=skip, on_layer=on_layer, progress=progress
    )
