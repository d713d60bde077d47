"""Engine correctness (float64): exact h = v^T H v vs a dense Hessian, GN vs explicit J^T H_f J and curvlinops,
paper protocol vs engine, vec convention, SVD directions and rank, the exact module forms, result records."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirics import curvature as C
from empirics.curvature import functional as CF
from empirics.layers import get_module, matrix_to_weight, resolve_layers, weight_matrix
from tests.cases import CASES, TOL, ce, make_case, mse, setup_case, values
from tests.cases import dense_h as _dense_h
from tests.cases import rel as _rel

_setup = setup_case


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["fwd_fwd", "fwd_rev", "rev_rev", "fwd_adj", "auto"])
def test_exact_matches_dense_hessian(case, method):
    model, lf, x, y, layers, dirs = _setup(case)
    res = C.exact_curvatures(model, lf, x, y, dirs, method=method, chunk_size=2)  # chunk < k: exercises chunking
    h = values(res)
    for n in layers:
        ref = _dense_h(model, lf, x, y, n, dirs[n])
        assert ref.abs().max() > 0
        assert _rel(h[n], ref) < TOL, (case, n, h[n], ref)
        assert res[n].method in ("fwd_fwd", "fwd_rev", "rev_rev", "fwd_adj", C.GN_EXACT_LABEL)
        assert res[n].chunk_size == 2 and res[n].seconds >= 0


def test_exact_is_not_the_gauss_newton_value():
    """Guard against a test that cannot fail: for tanh/CE the exact and GN curvatures differ."""
    model, lf, x, y, layers, dirs = _setup("mlp_ce")
    h = C.exact_curvatures(model, lf, x, y, {"0": dirs["0"]})["0"].values
    g = C.gn_curvatures(model, lf, x, y, {"0": dirs["0"]})["0"].values
    assert _rel(h, g) > 1e-6


@pytest.mark.parametrize("case", CASES)
def test_gn_matches_explicit_jacobian_form(case):
    model, lf, x, y, layers, dirs = _setup(case)
    hg = values(C.gn_curvatures(model, lf, x, y, dirs, chunk_size=2))
    for n in layers:
        fo, w = CF.outputs_fn(model, x, n)
        out = fo(w)
        J = torch.autograd.functional.jacobian(fo, w).reshape(out.numel(), w.numel())
        Hf = torch.autograd.functional.hessian(
            lambda o, shape=out.shape: lf(o.reshape(shape), y).sum() / len(y), out.reshape(-1)
        )
        V = dirs[n].reshape(dirs[n].shape[0], -1)
        ref = torch.einsum("ki,ij,kj->k", V, J.T @ Hf @ J, V)
        assert _rel(hg[n], ref) < TOL, (case, n)


@pytest.mark.parametrize("case", ["mlp_ce", "mlp_mse", "conv_bn"])
def test_gn_matches_curvlinops(case):
    curvlinops = pytest.importorskip("curvlinops")
    model, lf, x, y, layers, dirs = _setup(case)
    hg = values(C.gn_curvatures(model, lf, x, y, dirs))
    loss = torch.nn.CrossEntropyLoss() if lf is ce else torch.nn.MSELoss(reduction="mean")
    for n in layers:
        w = get_module(model, n).weight
        op = curvlinops.GGNLinearOperator(model, loss, [w], [(x, y)], check_deterministic=False)
        V = dirs[n].reshape(dirs[n].shape[0], -1)
        HV = torch.stack([op @ v for v in V])  # curvlinops 3 operators act on torch tensors
        ref = (HV.reshape(V.shape) * V).sum(1)
        if lf is mse:  # torch's MSELoss(mean) averages over the 4 outputs too and drops the 1/2
            ref = ref * V.new_tensor(4.0 / 2.0)
        assert _rel(hg[n], ref) < TOL, (case, n, hg[n], ref)


@pytest.mark.parametrize("case", CASES)
def test_paper_protocol_matches_engine(case):
    model, lf, x, y, layers, dirs = _setup(case, k=4)
    pp = values(C.paper_protocol_curvatures(model, lf, x, y, dirs))
    for method in ("fwd_fwd", "fwd_rev", "rev_rev"):
        h = values(C.exact_curvatures(model, lf, x, y, dirs, method=method))
        for n in layers:
            assert _rel(h[n], pp[n]) < TOL, (case, n, method)


def test_fd_float64_close_and_float32_noisy():
    model, lf, x, y, layers, dirs = _setup("mlp_ce")
    n = "0"
    h = C.exact_curvatures(model, lf, x, y, {n: dirs[n]})[n].values
    fd64 = C.fd_curvatures(model, lf, x, y, {n: dirs[n]}, eps=1e-3)[n].values
    assert _rel(fd64, h) < 1e-4  # O(eps^2) truncation
    fd32 = C.fd_curvatures(model, lf, x, y, {n: dirs[n]}, eps=1e-3, dtype=torch.float32)[n].values
    assert fd32.dtype == torch.float32
    assert _rel(fd32.double(), h) > _rel(fd64, h)  # round-off ~ eps32 L / eps^2 dominates in float32


def test_vec_convention_row_major():
    """vec(u w^T) = u (x) w under D.reshape(-1); conv weights are viewed as (c_out, c_in*kh*kw)."""
    conv = torch.nn.Conv2d(3, 5, (2, 4)).double()
    Wm = weight_matrix(conv)
    assert Wm.shape == (5, 3 * 2 * 4)
    assert torch.equal(Wm[1, 3 * 0 + 0 : 8], conv.weight[1, 0].reshape(-1))
    u, w = torch.randn(5, dtype=torch.float64), torch.randn(24, dtype=torch.float64)
    D = torch.outer(u, w)
    assert torch.equal(D.reshape(-1), torch.kron(u, w))
    assert torch.equal(matrix_to_weight(D, conv).reshape(5, -1), D)
    assert matrix_to_weight(torch.stack([D, D]), conv).shape == (2, 5, 3, 2, 4)


def test_top_k_directions_svd_and_rank():
    g = torch.Generator().manual_seed(1)
    A = torch.randn(7, 3, generator=g, dtype=torch.float64)
    B = torch.randn(3, 9, generator=g, dtype=torch.float64)
    G = A @ B  # rank 3
    d = C.top_k_directions(G, 5)
    assert d.rank == 3 and d.rtol == 9 * torch.finfo(torch.float64).eps
    assert d.sigma.shape == (5,) and bool((d.sigma[:-1] >= d.sigma[1:]).all())
    for j in range(3):
        assert torch.allclose(G @ d.W[:, j], d.sigma[j] * d.U[:, j], atol=1e-12)
    assert d.sigma[3] < 1e-12 * d.sigma[0]
    assert C.top_k_directions(torch.zeros(3, 4, dtype=torch.float64), 2).rank == 0


def test_gradient_matrices_match_autograd():
    model, lf, x, y = make_case("conv_bn")
    layers = resolve_layers(model)
    G = C.gradient_matrices(model, lf, x, y, layers)
    loss = lf(model(x), y).mean()
    for n in layers:
        (g,) = torch.autograd.grad(loss, get_module(model, n).weight, retain_graph=True)
        assert torch.allclose(G[n], g.reshape(g.shape[0], -1), rtol=0, atol=1e-14)


def test_bad_method_and_shape_rejected():
    model, lf, x, y, layers, dirs = _setup("mlp_ce")
    with pytest.raises(ValueError, match="method"):
        C.exact_curvatures(model, lf, x, y, dirs, method="nope")
    with pytest.raises(ValueError, match="do not match"):
        C.exact_curvatures(model, lf, x, y, {"0": dirs["2"]})


def test_auto_chunk_size_bounds():
    model, lf, x, y = make_case("conv_bn")
    c = C.auto_chunk_size(model, x, 7)
    assert 1 <= c <= 7


def test_default_budget_is_a_share_of_free_memory_at_most_2_gib_on_cpu(monkeypatch):
    """One default working memory for every method without ``max_memory``: the share first, then the CPU cap."""
    from empirics.curvature import memory as M

    gib, cpu, cuda = 1024**3, torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(M, "available_bytes", lambda device: 6 * gib)
    assert M.default_budget(cpu) == 1.5 * gib  # a quarter of free memory, not a quarter of the cap (512 MiB)
    assert M.default_budget(cpu, 0.5) == M.CPU_BUDGET == 2 * gib and M.default_budget(cuda, 0.5) == 3 * gib
    monkeypatch.setattr(M, "available_bytes", lambda device: 40 * gib)
    assert M.default_budget(cpu) == M.CPU_BUDGET and M.default_budget(cuda) == 10 * gib


def test_batchnorm_affine_form_is_exact_and_restored():
    model, lf, x, y = make_case("conv_bn")
    bn = model[1]
    ref = model(x)
    with C.exact_forms(model):
        assert "forward" in bn.__dict__
        assert torch.allclose(model(x), ref, rtol=0, atol=1e-13)
    assert "forward" not in bn.__dict__
    bn.train()  # train-mode BatchNorm is left alone (its curvature differs; the layer loop uses eval)
    with C.exact_forms(model):
        assert "forward" not in bn.__dict__


def test_rev_rev_leaves_parameters_untouched():
    model, lf, x, y, layers, dirs = _setup("conv_bn")
    model[0].weight.requires_grad_(False)
    C.exact_curvatures(model, lf, x, y, dirs, method="rev_rev")
    assert model[0].weight.requires_grad is False and model[3].weight.requires_grad is True
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------------------------------------------------
# nn.LayerNorm: torch's fused layer_norm has wrong second derivatives under nested jvp (forward-over-forward)


def _ln_case(affine: bool):
    """Linear -> nn.LayerNorm -> tanh -> Linear (CE); the measured first layer sits upstream of the LayerNorm.
    ``affine=False``: LayerNorm without weight/bias over a 2-d normalized_shape."""
    g = torch.Generator().manual_seed(3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        if affine:
            model = nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 4))
            with torch.no_grad():
                model[1].weight.uniform_(0.5, 1.5)
                model[1].bias.normal_()
        else:
            model = nn.Sequential(
                nn.Linear(6, 8),
                nn.Unflatten(1, (2, 4)),
                nn.LayerNorm((2, 4), elementwise_affine=False),
                nn.Flatten(),
                nn.Tanh(),
                nn.Linear(8, 4),
            )
    x, y = torch.randn(10, 6, generator=g, dtype=torch.float64), torch.randint(0, 4, (10,), generator=g)
    return model.double().eval(), ce, x, y


def _ln_setup(affine: bool, k: int = 3):
    model, lf, x, y = _ln_case(affine)
    layers = resolve_layers(model)
    G = C.gradient_matrices(model, lf, x, y, layers)
    dirs = {n: C.direction_tensors(C.top_k_directions(G[n], k), get_module(model, n)) for n in layers}
    return model, lf, x, y, layers, dirs


def test_fused_layer_norm_nested_jvp_is_wrong():
    """Documents the torch bug the engine works around: nested jvp of F.layer_norm != dense Hessian,
    while the explicit formula (what ``exact_forms`` substitutes) matches it."""
    from torch.func import jvp

    g = torch.Generator().manual_seed(0)
    x, v, c = (torch.randn(4, 6, generator=g, dtype=torch.float64) for _ in range(3))

    def fused(z):
        return (F.layer_norm(z, (6,), None, None, 1e-5) * c).sum()

    def explicit(z):
        mu, var = z.mean(-1, keepdim=True), z.var(-1, unbiased=False, keepdim=True)
        return ((z - mu) / torch.sqrt(var + 1e-5) * c).sum()

    def fwd_fwd(f):
        return jvp(lambda z: jvp(f, (z,), (v,))[1], (x,), (v,))[1]

    vv = v.reshape(-1)
    dense = vv @ torch.autograd.functional.hessian(fused, x).reshape(24, 24) @ vv
    assert abs(float(fwd_fwd(explicit) - dense)) < 1e-10 * abs(float(dense))
    assert abs(float(fwd_fwd(fused) - dense)) > 1e-2 * abs(float(dense)), "torch fixed fused layer_norm's fwd-over-fwd"


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("method", ["fwd_fwd", "fwd_rev", "rev_rev", "auto"])
def test_layer_norm_models_match_dense_hessian(affine, method):
    model, lf, x, y, layers, dirs = _ln_setup(affine)
    h = values(C.exact_curvatures(model, lf, x, y, dirs, method=method, chunk_size=2))
    for n in layers:
        ref = _dense_h(model, lf, x, y, n, dirs[n])
        assert ref.abs().max() > 0
        assert _rel(h[n], ref) < TOL, (affine, method, n, h[n], ref)
    assert all("forward" not in m.__dict__ for m in model.modules())  # original forwards restored


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_fwd_fwd_wrong_without_exact_forms(affine, monkeypatch):
    """The guard is what makes fwd_fwd right: with ``exact_forms`` disabled the first layer's h is wrong."""
    import contextlib

    model, lf, x, y, layers, dirs = _ln_setup(affine)
    ref = _dense_h(model, lf, x, y, "0", dirs["0"])
    monkeypatch.setattr("empirics.curvature.exact.exact_forms", lambda _m: contextlib.nullcontext())
    h = C.exact_curvatures(model, lf, x, y, {"0": dirs["0"]}, method="fwd_fwd")["0"].values
    assert _rel(h, ref) > 1e-6


class _FunctionalLN(nn.Module):
    """A user model that calls ``F.layer_norm`` directly (no ``nn.LayerNorm`` module to patch)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 8), nn.Linear(8, 4)
        self.gain = nn.Parameter(torch.linspace(0.5, 1.5, 8))

    def forward(self, x):
        return self.fc2(torch.tanh(F.layer_norm(self.fc1(x), (8,), self.gain, None, 1e-5)))


@pytest.mark.parametrize("method", ["fwd_fwd", "auto"])
def test_functional_layer_norm_is_guarded_too(method):
    g = torch.Generator().manual_seed(5)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        model = _FunctionalLN().double().eval()
    x, y = torch.randn(10, 6, generator=g, dtype=torch.float64), torch.randint(0, 4, (10,), generator=g)
    G = C.gradient_matrices(model, ce, x, y, ["fc1"])
    dirs = {"fc1": C.direction_tensors(C.top_k_directions(G["fc1"], 3), model.fc1)}
    h = C.exact_curvatures(model, ce, x, y, dirs, method=method)["fc1"].values
    ref = _dense_h(model, ce, x, y, "fc1", dirs["fc1"])
    assert _rel(h, ref) < TOL
    assert F.layer_norm is torch.nn.functional.layer_norm and F.layer_norm.__module__ == "torch.nn.functional"


# ---------------------------------------------------------------------------------------------------------
# the other exact forms: explicit scaled-dot-product attention and group norm equal torch's fused ones


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"is_causal": True}, {"scale": 0.3}, {"mask": "bool"}, {"mask": "float"}, {"gqa": True}],
    ids=["plain", "causal", "scale", "bool_mask", "float_mask", "gqa"],
)
def test_explicit_sdpa_equals_torch(kwargs):
    from empirics.curvature.forms import explicit_sdpa

    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 4, 5, 3, generator=g, dtype=torch.float64)
    kv_heads = 2 if kwargs.get("gqa") else 4
    k = torch.randn(2, kv_heads, 6, 3, generator=g, dtype=torch.float64)
    v = torch.randn(2, kv_heads, 6, 3, generator=g, dtype=torch.float64)
    kw = {key: val for key, val in kwargs.items() if key in ("is_causal", "scale")}
    if kwargs.get("mask") == "bool":
        kw["attn_mask"] = torch.rand(5, 6, generator=g) > 0.3
        kw["attn_mask"][:, 0] = True
    elif kwargs.get("mask") == "float":
        kw["attn_mask"] = torch.randn(5, 6, generator=g, dtype=torch.float64)
    if kwargs.get("gqa"):
        kw["enable_gqa"] = True
    ref = F.scaled_dot_product_attention(q, k, v, **kw)
    assert torch.allclose(explicit_sdpa(q, k, v, **kw), ref, rtol=0, atol=1e-13)


def test_explicit_group_norm_equals_torch_and_forms_are_restored():
    from empirics.curvature.forms import explicit_group_norm

    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 6, 4, 5, generator=g, dtype=torch.float64)
    w, b = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    assert torch.allclose(explicit_group_norm(x, 3, w, b, 1e-5), F.group_norm(x, 3, w, b, 1e-5), atol=1e-13)
    model = nn.Sequential(nn.GroupNorm(2, 6), nn.MultiheadAttention(6, 2))
    fused = (F.layer_norm, F.group_norm, F.scaled_dot_product_attention)
    with C.exact_forms(model):
        assert "forward" in model[0].__dict__ and not torch.backends.mha.get_fastpath_enabled()
        assert F.scaled_dot_product_attention is not fused[2]
    assert (F.layer_norm, F.group_norm, F.scaled_dot_product_attention) == fused
    assert "forward" not in model[0].__dict__ and torch.backends.mha.get_fastpath_enabled()
