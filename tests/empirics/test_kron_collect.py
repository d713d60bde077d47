"""collect_layer_io: hooks give G = (1/B) sum_i sum_t delta_{i,t} a_{i,t}^T = autograd's gradient (docs/theory-reference.md §1.1, §1.5)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirics.kron import collect_layer_io, kron_record
from tests.cases import ce

pytestmark = pytest.mark.usefixtures("float64_one_thread")


def lm_loss(o, t):  # per-sample loss = mean over tokens (empirics' LM convention)
    B, T, V = o.shape
    return F.cross_entropy(o.reshape(-1, V), t.reshape(-1), reduction="none").reshape(B, T).mean(1)


def autograd_G(model, loss_fn, x, y, module):
    loss = loss_fn(model(x), y).mean()
    (g,) = torch.autograd.grad(loss, module.weight)
    return g.reshape(g.shape[0], -1)


def G_from_io(io):
    A, d = io.A, io.delta
    if A.dim() == 2:
        return d.T @ A / io.n_samples
    return torch.einsum("blm,bln->mn", d, A) / io.n_samples


def conv_net(conv: nn.Conv2d, hw: int = 9, classes: int = 4) -> nn.Module:
    with torch.no_grad():
        out = conv(torch.zeros(1, conv.in_channels, hw, hw))
    return nn.Sequential(conv, nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(out.numel(), classes)).eval()


CONVS = {
    "plain": dict(kernel_size=3),
    "stride2_pad1": dict(kernel_size=3, stride=2, padding=1),
    "dilation2_pad2": dict(kernel_size=3, dilation=2, padding=2),
    "rect_kernel_stride": dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0)),
    "same_padding": dict(kernel_size=4, padding="same"),  # asymmetric padding for an even kernel
    "reflect_pad": dict(kernel_size=3, padding=1, padding_mode="reflect"),
    "no_bias": dict(kernel_size=3, bias=False),
}


@pytest.mark.parametrize("case", sorted(CONVS))
def test_conv_G_equals_autograd(case):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 5, **CONVS[case])
    model = conv_net(conv)
    x, y = torch.randn(12, 3, 9, 9), torch.randint(0, 4, (12,))
    io = collect_layer_io(model, ce, x, y, "0", gn_samples=0, chunk_size=5)
    ref = autograd_G(model, ce, x, y, conv)
    Gio = G_from_io(io)
    assert io.A.shape[1] == io.delta.shape[1] == io.L and io.A.shape[2] == 3 * conv.kernel_size[0] * conv.kernel_size[1]
    assert torch.linalg.norm(Gio - ref) <= 1e-12 * torch.linalg.norm(ref)
    assert torch.linalg.norm(io.G - ref) <= 1e-12 * torch.linalg.norm(ref)
    assert io.g_residual <= 1e-12
    assert io.has_bias == (CONVS[case].get("bias", True))


@pytest.mark.parametrize("name", ["0", "2", "4"])
def test_dense_and_head_G_equals_autograd(name):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(7, 6), nn.ReLU(inplace=True), nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).eval()
    x, y = torch.randn(25, 7), torch.randint(0, 3, (25,))
    io = collect_layer_io(model, ce, x, y, name, gn_samples=1)
    ref = autograd_G(model, ce, x, y, model.get_submodule(name))
    assert io.A.dim() == 2 and io.delta.dim() == 2 and io.L == 1
    assert torch.linalg.norm(G_from_io(io) - ref) <= 1e-12 * torch.linalg.norm(ref)


def test_token_linear_G_equals_autograd_and_L_is_T():
    """A Linear applied to (B, T, n) — transformer layers — shares its weight over the T tokens."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 5)).eval()
    x, y = torch.randn(10, 7, 4), torch.randint(0, 5, (10, 7))
    for name in ("0", "2"):
        io = collect_layer_io(model, lm_loss, x, y, name, gn_samples=2)
        ref = autograd_G(model, lm_loss, x, y, model.get_submodule(name))
        assert io.L == 7 and io.A.shape == (10, 7, model.get_submodule(name).in_features)
        assert torch.linalg.norm(G_from_io(io) - ref) <= 1e-12 * torch.linalg.norm(ref)
        assert io.gn["likelihood"] == "categorical" and abs(io.gn["loss_scale"] - 1 / 7) < 1e-12


def test_chunking_does_not_change_factors():
    torch.manual_seed(3)
    model = conv_net(nn.Conv2d(2, 3, 3, stride=2, padding=1), hw=8)
    x, y = torch.randn(11, 2, 8, 8), torch.randint(0, 4, (11,))
    full = collect_layer_io(model, ce, x, y, "0", gn_samples=1, gn_mode="exact")
    chunked = collect_layer_io(model, ce, x, y, "0", gn_samples=1, gn_mode="exact", chunk_size=3)
    for attr in ("C_A", "C_delta", "C_delta_gn", "G"):
        a, b = getattr(full, attr), getattr(chunked, attr)
        assert torch.linalg.norm(a - b) <= 1e-13 * torch.linalg.norm(a), attr
    U, S, Vh = torch.linalg.svd(full.G)
    r1 = kron_record(full, S[:3], U[:, :3], Vh[:3].T, None)
    r2 = kron_record(chunked, S[:3], U[:, :3], Vh[:3].T, None)
    for key in ("h_sop", "h_ef", "omega", "concentration_ratio"):
        assert r1[key] == pytest.approx(r2[key], rel=1e-12)


def test_gn_mc_is_seeded():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)).eval()
    x, y = torch.randn(30, 5), torch.randint(0, 3, (30,))
    a = collect_layer_io(model, ce, x, y, "2", gn_samples=2, seed=7).C_delta_gn
    b = collect_layer_io(model, ce, x, y, "2", gn_samples=2, seed=7).C_delta_gn
    c = collect_layer_io(model, ce, x, y, "2", gn_samples=2, seed=8).C_delta_gn
    assert torch.equal(a, b) and not torch.equal(a, c)


class Reuse(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return self.lin(torch.tanh(self.lin(x)))


def test_bad_inputs_give_one_line_errors():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2)).eval()
    x, y = torch.randn(6, 4), torch.randint(0, 2, (6,))
    with pytest.raises(ValueError, match="unknown layer 'nope'; layers with Kronecker factors: 0, 2"):
        collect_layer_io(model, ce, x, y, "nope")
    with pytest.raises(ValueError, match="no Kronecker factor pair: BatchNorm1d is not a matrix weight"):
        collect_layer_io(model, ce, x, y, "1")
    with pytest.raises(ValueError, match="per-sample losses"):
        collect_layer_io(model, lambda o, t: ce(o, t).mean(), x, y, "0")
    with pytest.raises(ValueError, match="empty batch"):
        collect_layer_io(model, ce, x[:0], y[:0], "0")
    with pytest.raises(ValueError, match="gn_mode"):
        collect_layer_io(model, ce, x, y, "0", gn_mode="bogus")
    model.train()
    with pytest.raises(ValueError, match="training mode"):
        collect_layer_io(model, ce, x, y, "0")
    grouped = nn.Sequential(nn.Conv2d(4, 4, 3, groups=2), nn.Flatten()).eval()
    with pytest.raises(ValueError, match="grouped conv"):
        collect_layer_io(grouped, lambda o, t: o.sum(1), torch.randn(2, 4, 5, 5), torch.zeros(2), "0")
    with pytest.raises(ValueError, match="ran 2 times"):
        collect_layer_io(Reuse().eval(), lambda o, t: o.pow(2).sum(1), torch.randn(3, 4), torch.zeros(3), "lin")
    smooth = nn.Sequential(nn.Linear(4, 3)).eval()

    def smoothed(o, t):
        return F.cross_entropy(o, t, reduction="none", label_smoothing=0.2)

    xs, ys = torch.randn(6, 4), torch.randint(0, 3, (6,))
    with pytest.raises(ValueError, match="not c \\* categorical NLL"):
        collect_layer_io(smooth, smoothed, xs, ys, "0", likelihood="categorical")
    auto = collect_layer_io(smooth, smoothed, xs, ys, "0")  # auto: GN skipped, reason recorded
    assert auto.C_delta_gn is None and "not c * categorical NLL" in auto.gn["skipped"]
    rec = kron_record(auto, [1.0], torch.eye(3)[:, :1], torch.eye(4)[:, :1], None)
    assert rec["h_kron_gn"] == [None] and any("not c * categorical NLL" in n for n in rec["notes"])
    io = collect_layer_io(smooth, ce, torch.randn(6, 4), torch.randint(0, 3, (6,)), "0", gn_samples=0)
    with pytest.raises(ValueError, match="conv_form"):
        kron_record(io, [1.0], torch.eye(3)[:, :1], torch.eye(4)[:, :1], None, conv_form="bogus")
    with pytest.raises(ValueError, match="U must have shape"):
        kron_record(io, [1.0], torch.eye(4)[:, :1], torch.eye(4)[:, :1], None)


def test_weight_requires_grad_restored():
    model = nn.Sequential(nn.Linear(3, 2)).eval()
    model[0].weight.requires_grad_(False)
    collect_layer_io(model, ce, torch.randn(4, 3), torch.randint(0, 2, (4,)), "0", gn_samples=0)
    assert model[0].weight.requires_grad is False


def test_patch_blocks_do_not_change_results(monkeypatch):
    """im2col is materialised in blocks of about PATCH_BUDGET entries; a tiny budget gives the same numbers."""
    import empirics.kron.collect as C

    torch.manual_seed(6)
    model = conv_net(nn.Conv2d(2, 3, 3, padding=1), hw=6)
    x, y = torch.randn(9, 2, 6, 6), torch.randint(0, 4, (9,))
    ref = collect_layer_io(model, ce, x, y, "0", gn_samples=0)
    U, S, Vh = torch.linalg.svd(ref.G)
    r_ref = kron_record(ref, S[:3], U[:, :3], Vh[:3].T, None)
    monkeypatch.setattr(C, "PATCH_BUDGET", 36 * 18 * 2)  # two samples per block
    small = collect_layer_io(model, ce, x, y, "0", gn_samples=0)
    assert len(small.chunks()) == 5
    assert torch.allclose(small.sum_aa, ref.sum_aa, rtol=1e-13) and torch.allclose(small.G, ref.G, rtol=1e-13)
    r_small = kron_record(small, S[:3], U[:, :3], Vh[:3].T, None)
    for key in ("h_kron_ef", "h_sop", "h_ef", "omega"):
        assert r_small[key] == pytest.approx(r_ref[key], rel=1e-12)
