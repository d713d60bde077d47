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


# ---------------------------------------------------------------------------------------------------------
# models people use, at toy size (the public measure API): name -> factory() -> (model, (x, y), loss, n_layers)
# Each loss is the usual mean-reduction one; n_layers is the number of matrix weights layers="auto" finds.


class MHABlock(nn.Module):
    """nn.MultiheadAttention (fused in_proj_weight, out_proj) with fused nn.LayerNorm, token classifier."""

    def __init__(self, vocab: int = 9, d: int = 8, n_cls: int = 3):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.ln = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, 2, batch_first=True)
        self.fc = nn.Linear(d, n_cls)

    def forward(self, x):
        h = self.ln(self.emb(x))
        a, _ = self.attn(h, h, h)
        return self.fc((h + a).mean(1))


class SDPABlock(nn.Module):
    """Causal self-attention through F.scaled_dot_product_attention (separate q, k, v), GELU MLP, LM head."""

    def __init__(self, vocab: int = 9, d: int = 8):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.up, self.down = nn.Linear(d, 2 * d), nn.Linear(2 * d, d)
        self.lm_head = nn.Linear(d, vocab)

    def forward(self, x):
        h = self.emb(x)
        b, t, d = h.shape
        q, k, v = (m(h).view(b, t, 2, d // 2).transpose(1, 2) for m in (self.q, self.k, self.v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
        h = h + a
        h = h + self.down(F.gelu(self.up(h)))
        return self.lm_head(h)


class TiedLM(nn.Module):
    """Embedding tied to the output head (weight tying), SiLU MLP in between."""

    def __init__(self, vocab: int = 10, d: int = 6):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.mlp = nn.Linear(d, d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.emb.weight

    def forward(self, x):
        h = self.emb(x)
        return self.head(h + F.silu(self.mlp(h)))


class DictNet(nn.Module):
    """Returns a dict (logits plus an auxiliary tensor), like a HuggingFace ModelOutput."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(5, 7)
        self.out = nn.Linear(7, 3)

    def forward(self, x):
        h = torch.tanh(self.body(x))
        return {"hidden": h, "logits": self.out(h)}


def require_transformers():
    """HuggingFace cases: a missing ``transformers`` fails under CI (a test dependency), skips elsewhere."""
    import os

    import pytest

    try:
        import transformers  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("transformers is a test dependency (pyproject [test] extra) and is missing")
        pytest.skip("transformers not installed")


def _lm_mean(out, t):
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), t.reshape(-1))


def _seeded(seed: int):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    return g


def mha_case():
    g = _seeded(0)
    return (
        MHABlock(),
        (torch.randint(0, 9, (6, 5), generator=g), torch.randint(0, 3, (6,), generator=g)),
        nn.CrossEntropyLoss(),
        3,
    )


def sdpa_case():
    g = _seeded(1)
    return (
        SDPABlock(),
        (torch.randint(0, 9, (3, 5), generator=g), torch.randint(0, 9, (3, 5), generator=g)),
        _lm_mean,
        6,
    )


def conv_case():
    """GroupNorm, depthwise and grouped conv, GELU and SiLU."""
    g = _seeded(2)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.GroupNorm(2, 8),
        nn.GELU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8),
        nn.SiLU(),
        nn.Conv2d(8, 4, 1, groups=2),
        nn.Flatten(),
        nn.Linear(4 * 5 * 5, 4),
    )
    x, y = torch.randn(8, 3, 5, 5, generator=g), torch.randint(0, 4, (8,), generator=g)
    return model, (x, y), nn.CrossEntropyLoss(), 4


def tied_case():
    g = _seeded(3)
    return TiedLM(), (torch.randint(0, 10, (4, 5), generator=g), torch.randint(0, 10, (4, 5), generator=g)), _lm_mean, 2


def dict_case():
    g = _seeded(4)
    x, y = torch.randn(9, 5, generator=g), torch.randn(9, 3, generator=g)
    return DictNet(), (x, y), nn.MSELoss(), 2


def gpt2_case():
    from transformers import GPT2Config, GPT2LMHeadModel

    g = _seeded(5)
    cfg = GPT2Config(vocab_size=16, n_positions=8, n_embd=8, n_layer=1, n_head=2, bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(cfg)
    x, y = torch.randint(0, 16, (3, 6), generator=g), torch.randint(0, 16, (3, 6), generator=g)
    return model, (x, y), _lm_mean, 5  # c_attn, attn.c_proj, c_fc, mlp.c_proj, wte tied with lm_head


def vit_case():
    from transformers import ViTConfig, ViTForImageClassification

    g = _seeded(6)
    cfg = ViTConfig(
        image_size=8,
        patch_size=4,
        num_channels=3,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=12,
        num_labels=3,
    )
    model = ViTForImageClassification(cfg)
    x, y = torch.randn(4, 3, 8, 8, generator=g), torch.randint(0, 3, (4,), generator=g)
    return model, (x, y), nn.CrossEntropyLoss(), 8  # patch conv, q, k, v, attn out, up, down, classifier


def bert_case():
    from transformers import BertConfig, BertForSequenceClassification

    g = _seeded(7)
    cfg = BertConfig(
        vocab_size=16,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=12,
        max_position_embeddings=8,
        num_labels=3,
    )
    model = BertForSequenceClassification(cfg)
    x, y = torch.randint(0, 16, (4, 6), generator=g), torch.randint(0, 3, (4,), generator=g)
    return model, (x, y), nn.CrossEntropyLoss(), 8  # q, k, v, attn out, up, down, pooler, classifier


#: the public-API cases: hand-written models and HuggingFace ones built from tiny configs (offline)
USER_MODELS = {
    "mha_layernorm": mha_case,
    "sdpa_gelu": sdpa_case,
    "groupnorm_depthwise_grouped": conv_case,
    "tied_embedding_head": tied_case,
    "dict_output": dict_case,
    "hf_gpt2": gpt2_case,
    "hf_vit": vit_case,
    "hf_bert": bert_case,
}
HF_CASES = ("hf_gpt2", "hf_vit", "hf_bert")


def reference_curvatures(model, batch, loss, key: str, D: torch.Tensor, output=None) -> torch.Tensor:
    r""":math:`v_k^\top Hv_k` from a dense float64 Hessian of ``loss`` (as given: mean reduction) in the
    parameter ``key`` (every use of a tied weight), on a float64 copy of ``model``; ``D`` (k, *shape).
    SDPA runs on torch's math backend here (the fused kernels have no double backward)."""
    import copy

    from torch.func import functional_call
    from torch.nn.attention import SDPBackend, sdpa_kernel

    m64 = copy.deepcopy(model).double().eval()
    x, y = batch
    x = x.double() if x.is_floating_point() else x
    y = y.double() if y.is_floating_point() else y
    state = {n: p.detach() for n, p in m64.named_parameters()}
    w0 = state[key]

    def f(w):
        out = functional_call(m64, {**state, key: w}, (x,))
        if not isinstance(out, torch.Tensor):
            out = out[output or "logits"]
        return loss(out, y)

    with sdpa_kernel(SDPBackend.MATH):
        H = torch.autograd.functional.hessian(f, w0).reshape(w0.numel(), w0.numel())
    V = D.reshape(D.shape[0], -1).double()
    return torch.einsum("ki,ij,kj->k", V, H, V)


#: the ``run`` block of a minimal ``sad-results/1`` document (copy it before changing it)
RESULTS_RUN = {
    "model": "mlp",
    "architecture": "mlp",
    "dataset": "digits",
    "dataset_kind": "real",
    "task": "classification",
    "batch_size": 8,
    "k": 3,
    "dtype": "float64",
    "device": "cpu",
    "seed": 0,
}


def results_doc(k=3, complete=False, layers=()):
    """A minimal valid ``sad-results/1`` document (run writer and results_io tests)."""
    from empirics import results_io

    return {
        "schema": "sad-results/1",
        "complete": complete,
        "run": dict(RESULTS_RUN, k=k),
        "provenance": results_io.provenance({"x": 1}, seed=0, device="cpu", dtype="float64"),
        "layers": list(layers),
    }


RESULTS_LAYER = {
    "name": "fc",
    "layer_type": "dense",
    "shape": [2, 3],
    "k": 2,
    "sigma": [2.0, 1.0],
    "h_exact": [1.0, float("nan")],
}
