"""matrix_view: the (m, n) view of every supported layer kind, the one-line error for unsupported ones, HF Conv1D
(transposed) equal to nn.Linear step for step under SN and Muon, and grouped convs as per-group blocks (= the
spectral function of the layer's block-diagonal map)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from empirics.optim import Muon, SpectralNewton, matrix_view, sn_svd
from empirics.optim.matrix_view import row_major_view

pytestmark = pytest.mark.usefixtures("float64_one_thread")

Conv1D = pytest.importorskip("transformers.pytorch_utils").Conv1D


def _randn(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------------------ the table
def test_linear_conv_and_mha_views():
    lin = nn.Linear(5, 3)
    v = matrix_view(lin, "weight")
    assert v.to_matrix(lin.weight) is lin.weight and v.from_matrix(lin.weight) is lin.weight
    conv = nn.Conv2d(4, 6, (3, 2))
    v = matrix_view(conv, "weight")
    M = v.to_matrix(conv.weight)
    assert M.shape == (6, 4 * 3 * 2) and torch.equal(M, conv.weight.reshape(6, -1))
    assert torch.equal(v.from_matrix(M), conv.weight)
    mha = nn.MultiheadAttention(8, 2)
    assert matrix_view(mha, "in_proj_weight").to_matrix(mha.in_proj_weight).shape == (24, 8)
    assert matrix_view(mha, "in_proj_bias") is None
    mha_kv = nn.MultiheadAttention(8, 2, kdim=5, vdim=5)
    assert matrix_view(mha_kv, "k_proj_weight").to_matrix(mha_kv.k_proj_weight).shape == (8, 5)


def test_hf_conv1d_is_read_transposed():
    c = Conv1D(5, 12)  # nf = 5 outputs, nx = 12 inputs; weight stored (12, 5), y = x W + b
    assert c.weight.shape == (12, 5)
    v = matrix_view(c, "weight")
    M = v.to_matrix(c.weight)
    assert M.shape == (5, 12) and torch.equal(M, c.weight.T)
    assert torch.equal(v.from_matrix(M), c.weight)
    x = _randn(3, 12)
    torch.testing.assert_close(c(x), x @ M.T + c.bias, rtol=0, atol=1e-14)  # m = out, n = in


def test_grouped_conv_view_is_one_block_per_group():
    conv = nn.Conv2d(6, 4, 3, groups=2)  # weight (4, 3, 3, 3)
    v = matrix_view(conv, "weight")
    B = v.to_matrix(conv.weight)
    assert B.shape == (2, 2, 27)
    assert torch.equal(B[1], conv.weight[2:].reshape(2, -1))
    assert torch.equal(v.from_matrix(B), conv.weight)
    depthwise = nn.Conv1d(5, 5, 3, groups=5)
    assert matrix_view(depthwise, "weight").to_matrix(depthwise.weight).shape == (5, 1, 3)


def test_non_matrices_and_unsupported_parameters():
    assert matrix_view(nn.Embedding(10, 4), "weight") is None
    assert matrix_view(nn.EmbeddingBag(10, 4), "weight") is None
    assert matrix_view(nn.Linear(3, 2), "bias") is None
    assert matrix_view(nn.LayerNorm(4), "weight") is None

    class Free(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.zeros(1, 5, 4))
            self.weight = nn.Parameter(torch.zeros(4, 3))

    assert matrix_view(Free(), "pos_embed") is None
    for module, name, msg in [
        (nn.ConvTranspose2d(3, 4, 2), "weight", r"ConvTranspose2d.weight of shape \(3, 4, 2, 2\) has no supported"),
        (nn.LSTM(3, 4), "weight_ih_l0", r"LSTM.weight_ih_l0 of shape \(16, 3\) has no supported matrix view"),
        (nn.Bilinear(2, 3, 4), "weight", "Bilinear.weight"),
        (Free(), "weight", r"Free.weight of shape \(4, 3\)"),
        (nn.LazyLinear(3), "weight", "uninitialised lazy parameter"),
        (nn.Linear(3, 2), "gain", "Linear has no parameter 'gain'"),
    ]:
        with pytest.raises(ValueError, match=msg):
            matrix_view(module, name)
    with pytest.raises(ValueError, match="no row-major matrix view"):
        row_major_view((6, 2), groups=4)


def test_unsupported_layers_stop_the_optimizer_with_one_line_naming_the_parameter():
    model = nn.Sequential(nn.Linear(3, 4), nn.Unflatten(1, (4, 1, 1)), nn.ConvTranspose2d(4, 2, 2))
    for cls in (SpectralNewton, Muon):
        with pytest.raises(ValueError, match=r"parameter '2.weight': ConvTranspose2d.weight .* routes=\{'2.weight'"):
            cls(model)
        opt = cls(model, routes={"2.weight": "adamw"})
        assert opt.routing["2.weight"] == ("adamw", "routes argument")
        assert [g["name"] for g in opt.matrix_groups] == ["0.weight"]


# -------------------------------------------------------------------------------- Conv1D == Linear, stepwise
def _linear_and_conv1d(m, n, seed=0):
    torch.manual_seed(seed)
    lin = nn.Sequential(nn.Linear(n, m), nn.Tanh(), nn.Linear(m, 3))
    c1d = nn.Sequential(Conv1D(m, n), nn.Tanh(), Conv1D(3, m))
    with torch.no_grad():
        for a, b in ((lin[0], c1d[0]), (lin[2], c1d[2])):
            b.weight.copy_(a.weight.T)
            b.bias.copy_(a.bias)
    return lin, c1d


@pytest.mark.parametrize(
    "make",
    [
        lambda m: SpectralNewton(m, lr=0.1, alpha=2.0, weight_decay=0.3, adamw_lr=1e-2),
        lambda m: SpectralNewton(m, lr=0.1, alpha=1.3, scale="rms", momentum=0.9, nesterov=False),
        lambda m: Muon(m, lr=0.05, ns_dtype=None),  # tall/wide: Muon's lr factor √max(1, m/n) sees the orientation
        lambda m: Muon(m, lr=0.05, adjust_lr_fn="match_rms_adamw", ns_dtype=None),
    ],
)
def test_conv1d_equals_the_equivalent_linear_step_for_step(make):
    """Same gradients (transposed): every step of the Conv1D model is the Linear model's step, transposed."""
    lin, c1d = _linear_and_conv1d(m=5, n=12)
    a, b = make(lin), make(c1d)
    assert [g["name"] for g in b.matrix_groups] == ["0.weight", "2.weight"]
    for step in range(4):
        for i in (0, 2):
            g, gb = _randn(*lin[i].weight.shape, seed=10 * step + i), _randn(lin[i].bias.shape[0], seed=99 + step)
            lin[i].weight.grad, c1d[i].weight.grad = g, g.T.clone()
            lin[i].bias.grad, c1d[i].bias.grad = gb, gb.clone()
        a.step()
        b.step()
        for i in (0, 2):
            torch.testing.assert_close(c1d[i].weight.detach(), lin[i].weight.detach().T, rtol=0, atol=1e-13)
            torch.testing.assert_close(c1d[i].bias.detach(), lin[i].bias.detach(), rtol=0, atol=0)


def test_conv1d_and_linear_models_train_alike_with_real_backward():
    lin, c1d = _linear_and_conv1d(m=6, n=4, seed=1)
    x, y = _randn(16, 4, seed=2), torch.arange(16) % 3
    # empirics.layers' default table knows Linear/Conv only: the Conv1D model gets the same types explicitly
    opts = [
        SpectralNewton(lin, lr=0.05, alpha="layer_type"),
        SpectralNewton(c1d, lr=0.05, alpha="layer_type", layer_types={"0": "dense", "2": "head"}),
    ]
    assert opts[0].alphas == opts[1].alphas == {"0.weight": 2.0, "2.weight": 1.44}
    for _ in range(5):
        losses = []
        for model, opt in zip((lin, c1d), opts, strict=True):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert abs(losses[0] - losses[1]) < 1e-12
    torch.testing.assert_close(c1d[0].weight.detach(), lin[0].weight.detach().T, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------- grouped convs
def _block_diagonal(W: torch.Tensor, groups: int) -> torch.Tensor:
    """The full (c_out, c_in·k) im2col matrix of a grouped conv weight (c_out, c_in/groups, k...)."""
    c_out, per = W.shape[0], W[0].numel()
    full = torch.zeros(c_out, per * groups, dtype=W.dtype)
    r = c_out // groups
    for j in range(groups):
        full[j * r : (j + 1) * r, j * per : (j + 1) * per] = W[j * r : (j + 1) * r].reshape(r, per)
    return full


@pytest.mark.parametrize("alpha", [2.0, 1.3])
def test_grouped_conv_update_is_the_spectral_function_of_the_block_diagonal_layer_map(alpha):
    conv = nn.Conv2d(6, 9, 3, groups=3, bias=False)
    w0 = conv.weight.detach().clone()
    conv.weight.grad = _randn(*conv.weight.shape, seed=3)
    SpectralNewton(conv, lr=1.0, alpha=alpha, momentum=0.0).step()
    full_update = sn_svd(_block_diagonal(conv.weight.grad, 3), alpha, 0.1)  # F of the layer's whole map (SVD)
    # equal as full matrices: the blocks agree and F's off-diagonal blocks vanish (the update stays in the
    # grouped conv's parameter space)
    torch.testing.assert_close(_block_diagonal(w0 - conv.weight.detach(), 3), full_update, rtol=0, atol=1e-13)
    # the row-major stacking (9 × 18) would be a different matrix function
    rowmajor = sn_svd(conv.weight.grad.reshape(9, -1), alpha, 0.1).reshape(conv.weight.shape)
    assert (rowmajor - (w0 - conv.weight.detach())).abs().max() > 1e-3


@pytest.mark.parametrize("cls", [SpectralNewton, Muon])
def test_grouped_conv_equals_separate_convs_one_per_group(cls):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, groups=2, bias=False)
    parts = nn.ModuleList(nn.Conv2d(2, 3, 3, bias=False) for _ in range(2))
    with torch.no_grad():
        for j in range(2):
            parts[j].weight.copy_(conv.weight[3 * j : 3 * j + 3])
    kw = {"ns_dtype": None} if cls is Muon else {"alpha": 1.7}
    a, b = cls(conv, lr=0.1, **kw), cls(parts, lr=0.1, **kw)
    for step in range(3):
        conv.weight.grad = _randn(*conv.weight.shape, seed=step)
        for j in range(2):
            parts[j].weight.grad = conv.weight.grad[3 * j : 3 * j + 3].clone()
        a.step()
        b.step()
    torch.testing.assert_close(conv.weight.detach(), torch.cat([p.weight.detach() for p in parts]), rtol=0, atol=1e-13)


def test_depthwise_conv_trains():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 3, 3, groups=3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    opt = SpectralNewton(model, lr=0.05)
    x, y = _randn(8, 3, 6, 6, seed=1), torch.arange(8) % 2
    losses = []
    for _ in range(8):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] and all(torch.isfinite(p).all() for p in model.parameters())


def test_torch_transformer_layer_routes_attention_projections_to_the_matrix_optimizer():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    opt = SpectralNewton(layer, lr=0.02)
    assert [g["name"] for g in opt.matrix_groups] == [
        "self_attn.in_proj_weight",
        "self_attn.out_proj.weight",
        "linear1.weight",
        "linear2.weight",
    ]
    before = layer.self_attn.in_proj_weight.detach().clone()
    layer(_randn(2, 5, 8, seed=1)).square().mean().backward()
    opt.step()
    assert not torch.equal(before, layer.self_attn.in_proj_weight)
    assert all(torch.isfinite(p).all() for p in layer.parameters())
