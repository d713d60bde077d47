"""The gn_exact shortcut (float64): the piecewise-linearity detector's verdicts, gn_exact = dense Hessian =
paper protocol on piecewise-linear nets, and auto's fallback to an exact method elsewhere."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirics import curvature as C
from empirics.layers import get_module
from empirics.piecewise import piecewise_linear_layers
from tests.empirics.test_curvature import TOL, TinyAttention, _dense_h, _rel, ce, lm_ce, mse

EXACT = ("fwd_fwd", "fwd_rev", "rev_rev")


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


def _conv_pool():
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


def _mlp(act):
    return nn.Sequential(nn.Linear(6, 7), act, nn.Linear(7, 5), act, nn.Linear(5, 4))


#: name -> (model factory, input kind, loss, layers that must be piecewise linear, layers that must not)
PL_CASES = {
    "conv_bn_relu_maxpool": (_conv_pool, "img", ce, ["0", "4", "7"], []),
    "mlp_relu_ce": (lambda: _mlp(nn.ReLU()), "vec", ce, ["0", "2", "4"], []),
    "mlp_relu_mse": (lambda: _mlp(nn.ReLU()), "vec", mse, ["0", "2", "4"], []),
    "residual_relu": (Residual, "vec", ce, ["stem", "fc1", "fc2", "head"], []),
}
NON_PL_CASES = {
    "mlp_gelu": (lambda: _mlp(nn.GELU()), "vec", ce, ["4"], ["0", "2"], "gelu"),
    "mlp_tanh": (lambda: _mlp(nn.Tanh()), "vec", ce, ["4"], ["0", "2"], "tanh"),
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


def _build(factory, kind, loss):
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


def _dirs(model, lf, x, y, names, k=3):
    G = C.gradient_matrices(model, lf, x, y, names)
    return {n: C.direction_tensors(C.top_k_directions(G[n], k), get_module(model, n)) for n in names}


@pytest.mark.parametrize("case", list(PL_CASES))
def test_gn_exact_matches_dense_hessian_and_paper_protocol(case):
    factory, kind, loss, pl, _ = PL_CASES[case]
    model, lf, x, y = _build(factory, kind, loss)
    verdicts = piecewise_linear_layers(model, x, pl)
    assert all(v.piecewise_linear for v in verdicts.values()), verdicts
    dirs = _dirs(model, lf, x, y, pl)
    h = C.exact_curvatures(model, lf, x, y, dirs, method="gn_exact", chunk_size=2)
    pp = C.paper_protocol_curvatures(model, lf, x, y, dirs)
    for n in pl:
        ref = _dense_h(model, lf, x, y, n, dirs[n])
        assert ref.abs().max() > 0
        assert _rel(h[n], ref) < TOL, (case, n, h[n], ref)
        assert _rel(h[n], pp[n]) < TOL, (case, n)
    ha = C.exact_curvatures(model, lf, x, y, dirs)  # auto picks the shortcut
    for n in pl:
        assert C.LAST_CHOICES[n]["method"] == C.GN_EXACT_LABEL
        assert _rel(ha[n], pp[n]) < TOL


@pytest.mark.parametrize("case", list(NON_PL_CASES))
def test_detector_says_no_and_auto_falls_back_to_an_exact_method(case):
    factory, kind, loss, pl, not_pl, why = NON_PL_CASES[case]
    model, lf, x, y = _build(factory, kind, loss)
    verdicts = piecewise_linear_layers(model, x, pl + not_pl)
    for n in not_pl:
        assert not verdicts[n].piecewise_linear and why in verdicts[n].reason, (n, verdicts[n])
    for n in pl:  # e.g. a last linear layer: its output is linear in W; the loss is not traced
        assert verdicts[n].piecewise_linear, (n, verdicts[n])
    dirs = _dirs(model, lf, x, y, not_pl)
    h = C.exact_curvatures(model, lf, x, y, dirs, method="auto", chunk_size=2)
    hg = C.gn_curvatures(model, lf, x, y, dirs)
    for n in not_pl:
        ref = _dense_h(model, lf, x, y, n, dirs[n])
        assert _rel(h[n], ref) < TOL, (case, n)
        assert C.LAST_CHOICES[n]["method"] in EXACT
        assert _rel(hg[n], ref) > 1e-6, (case, n)  # the shortcut would have been wrong here
    with pytest.raises(ValueError, match=f"not piecewise linear in layer '{not_pl[0]}'"):
        C.exact_curvatures(model, lf, x, y, dirs, method="gn_exact")


def test_detector_follows_views_and_in_place_writes():
    """A dependent tensor written in place into an independent buffer, then squared: must be rejected."""

    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(6, 4), nn.Linear(4, 3)

        def forward(self, x):
            buf = torch.zeros(x.shape[0], 4, dtype=x.dtype)
            buf.view(-1)[:] = self.a(x).reshape(-1)  # copy_ into a view of an independent buffer
            return self.b(buf * buf)

    model = InPlace().double().eval()
    x = torch.randn(3, 6, dtype=torch.float64)
    v = piecewise_linear_layers(model, x, ["a", "b"])
    assert not v["a"].piecewise_linear and "two tensors" in v["a"].reason
    assert v["b"].piecewise_linear


def test_detector_restores_the_model():
    model, lf, x, y = _build(_conv_pool, "img", ce)
    before = {n: t.clone() for n, t in model.state_dict().items()}
    ref = model(x)
    piecewise_linear_layers(model, x, ["0", "4"])
    assert all(torch.equal(before[n], t) for n, t in model.state_dict().items())
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert torch.equal(model(x), ref)
