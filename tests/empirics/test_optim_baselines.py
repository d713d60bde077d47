"""Baselines: Muon (Newton–Schulz and the step vs torch's own, conv weights), App. M's scalar control and its
two controls, and build_optimizer's names and errors."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from empirics.optim import OPTIMIZER_NAMES, Muon, build_optimizer, newton_schulz, scalar_multipliers
from empirics.optim.scalar_control import s_bar

torch_ns = getattr(getattr(torch.optim, "_muon", None), "_zeropower_via_newtonschulz", None)
needs_torch_muon = pytest.mark.skipif(
    torch_ns is None or not hasattr(torch.optim, "Muon"), reason="this torch has no torch.optim.Muon"
)


def _grads(model, seed):
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g)


# ----------------------------------------------------------------------------------------------- Muon
@needs_torch_muon
@pytest.mark.parametrize("shape", [(8, 8), (5, 12), (12, 5), (1, 7), (64, 9)])
def test_newton_schulz_equals_torch_private_implementation(shape):
    G = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    ours = newton_schulz(G, (3.4445, -4.7750, 2.0315), 5, 1e-7)
    theirs = torch_ns(G, (3.4445, -4.7750, 2.0315), 5, 1e-7)
    assert ours.dtype == theirs.dtype == torch.bfloat16
    assert torch.equal(ours, theirs)


def test_newton_schulz_approximates_the_polar_factor():
    """Singular values end near 1 (Keller Jordan's coefficients do not converge to exactly 1)."""
    G = torch.randn(40, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    O = newton_schulz(G, dtype=None)
    assert O.dtype == torch.float64
    s = torch.linalg.svdvals(O)
    assert 0.6 < s.min() and s.max() < 1.25
    U, _, Vh = torch.linalg.svd(G, full_matrices=False)
    cos = (O * (U @ Vh)).sum() / (O.norm() * (U @ Vh).norm())
    assert cos > 0.95


@needs_torch_muon
@pytest.mark.parametrize(
    "kw", [{}, {"adjust_lr_fn": "match_rms_adamw"}, {"nesterov": False, "momentum": 0.9, "weight_decay": 0.0}]
)
def test_muon_step_equals_torch_muon_on_2d_parameters(kw):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 7, bias=False), nn.Linear(7, 20, bias=False), nn.Linear(20, 3, bias=False))
    twin = copy.deepcopy(model)
    ours = Muon(model, lr=0.02, **kw)
    theirs = torch.optim.Muon(twin.parameters(), lr=0.02, **kw)
    for seed in range(3):
        _grads(model, seed)
        _grads(twin, seed)
        ours.step()
        theirs.step()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(p, q)


def test_muon_handles_conv_weights_through_the_row_major_view():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 6, 3)
    model = nn.Sequential(conv, nn.Flatten(), nn.Linear(6, 2))
    w = conv.weight.detach().clone()
    opt = Muon(model, lr=0.05, weight_decay=0.0, momentum=0.0, nesterov=False)
    assert [g["name"] for g in opt.matrix_groups] == ["0.weight", "2.weight"]
    assert {g["name"] for g in opt.adamw.param_groups} == {"0.bias", "2.bias"}
    _grads(model, 3)
    g = conv.weight.grad.reshape(6, 27).clone()
    opt.step()
    expected = w - 0.05 * newton_schulz(g).float().reshape(w.shape)  # 6×27: wide, no lr adjustment
    assert conv.weight.shape == (6, 3, 3, 3)
    torch.testing.assert_close(conv.weight.detach(), expected, rtol=0, atol=1e-7)
    with pytest.raises(ValueError, match="only supports 2D"):
        torch.optim.Muon([conv.weight])  # the reason the view is needed


def test_muon_tall_layers_get_keller_jordans_lr_adjustment():
    torch.manual_seed(0)
    lin = nn.Linear(4, 16, bias=False)  # 16×4: tall, lr × √4
    w = lin.weight.detach().clone()
    opt = Muon(lin, lr=0.01, weight_decay=0.0, momentum=0.0, nesterov=False)
    _grads(lin, 0)
    g = lin.weight.grad.clone()
    opt.step()
    torch.testing.assert_close(lin.weight.detach(), w - 0.02 * newton_schulz(g).float(), rtol=0, atol=1e-7)


# ------------------------------------------------------------------------------------ scalar control
def _convnet():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 2 * 2, 3)
    )


S = {"0": 3.1, "2": 1.7, "5": 2.4}


@pytest.mark.parametrize("name, beta", [("scalar_beta05", 0.5), ("scalar_beta10", 1.0), ("scalar_beta15", 1.5)])
@pytest.mark.parametrize("mean", ["geometric", "arithmetic"])
def test_scalar_groups_have_lr_eta0_times_s_over_sbar_to_the_beta(name, beta, mean):
    model = _convnet()
    opt = build_optimizer(name, model, lr=1e-3, s_by_layer=S, mean=mean)
    sbar = math.exp(np.mean(np.log(list(S.values())))) if mean == "geometric" else np.mean(list(S.values()))
    assert s_bar(S, mean) == pytest.approx(sbar, rel=1e-15)
    layers = {g["layer"]: g for g in opt.param_groups}
    for layer, s in S.items():
        assert layers[layer]["lr"] == pytest.approx(1e-3 * (s / sbar) ** beta, rel=1e-14)
        # weight and bias of the measured module share its rate
        assert {id(p) for p in layers[layer]["params"]} == {id(p) for p in model[int(layer)].parameters()}
    assert layers[None]["lr"] == 1e-3  # BatchNorm: not measured, keeps η0
    assert {id(p) for p in layers[None]["params"]} == {id(p) for p in model[3].parameters()}
    assert type(opt) is torch.optim.AdamW and opt.defaults["weight_decay"] == 0.01


def test_inverse_control_has_exponent_minus_one():
    opt = build_optimizer("inverse_spectral", _convnet(), lr=2e-3, s_by_layer=S)
    sbar = math.exp(np.mean(np.log(list(S.values()))))
    for g in opt.param_groups:
        if g["layer"] is not None:
            assert g["lr"] == pytest.approx(2e-3 * sbar / S[g["layer"]], rel=1e-14)


def test_random_control_permutes_the_spectral_multipliers_with_a_seed():
    s = {f"l{i}": 1.0 + 0.3 * i for i in range(12)}
    spectral = scalar_multipliers(s, 1.0)
    a = scalar_multipliers(s, 1.0, control="random", seed=0)
    assert sorted(a.values()) == sorted(spectral.values())  # same multiset: same spread and mean
    assert a == scalar_multipliers(s, 1.0, control="random", seed=0)
    assert a != scalar_multipliers(s, 1.0, control="random", seed=1) and a != spectral
    ln = scalar_multipliers(s, 1.0, control="random", seed=0, random="lognormal")
    logs = np.log(list(ln.values()))
    assert abs(logs.mean()) < 1e-12  # geometric mean 1
    assert logs.std() == pytest.approx(np.log(list(spectral.values())).std(), rel=1e-12)  # same spread
    model = _convnet()
    opt = build_optimizer("random_perlayer", model, lr=1e-3, s_by_layer=S, seed=3)
    want = scalar_multipliers(S, 1.0, control="random", seed=3)
    for g in opt.param_groups:
        if g["layer"] is not None:
            assert g["lr"] == pytest.approx(1e-3 * want[g["layer"]], rel=1e-15)


def test_scalar_control_rejects_bad_s():
    with pytest.raises(ValueError, match="must be finite and > 0"):
        scalar_multipliers({"a": 0.0, "b": 1.0})
    with pytest.raises(ValueError, match="names no module with parameters: nope"):
        build_optimizer("scalar_beta10", _convnet(), lr=1e-3, s_by_layer={"nope": 1.0})
    with pytest.raises(ValueError, match="mean must be one of"):
        build_optimizer("scalar_beta10", _convnet(), lr=1e-3, s_by_layer=S, mean="median")


# ------------------------------------------------------------------------------------ build_optimizer
def test_every_name_builds_and_steps():
    assert OPTIMIZER_NAMES == (
        "adamw",
        "sn",
        "muon",
        "scalar_beta05",
        "scalar_beta10",
        "scalar_beta15",
        "inverse_spectral",
        "random_perlayer",
    )
    for name in OPTIMIZER_NAMES:
        model = _convnet()
        before = [p.detach().clone() for p in model.parameters()]
        opt = build_optimizer(name, model, lr=1e-2, s_by_layer=S if name not in ("adamw", "sn", "muon") else None)
        assert isinstance(opt, torch.optim.Optimizer)
        nn.functional.cross_entropy(model(torch.randn(4, 3, 6, 6)), torch.tensor([0, 1, 2, 0])).backward()
        opt.step()
        opt.zero_grad()
        assert all(p.grad is None for p in model.parameters())
        assert all(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True)), name


def test_muon_adamw_part_has_its_own_learning_rate():
    model = _convnet()
    opt = Muon(model, lr=0.02)
    assert {g["lr"] for g in opt.matrix_groups} == {0.02} and {g["lr"] for g in opt.adamw.param_groups} == {1e-3}
    opt = build_optimizer("muon", model, lr=0.02, adamw_lr=3e-4)
    assert {g["lr"] for g in opt.adamw.param_groups} == {3e-4}


def test_build_optimizer_errors():
    model = _convnet()
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'; choose from adamw, sn, muon, scalar_beta05"):
        build_optimizer("sgd", model, lr=1e-3)
    for name in ("scalar_beta05", "scalar_beta10", "scalar_beta15", "inverse_spectral", "random_perlayer"):
        with pytest.raises(ValueError, match="needs s_by_layer"):
            build_optimizer(name, model, lr=1e-3)
    with pytest.raises(ValueError, match="alpha applies to 'sn' only"):
        build_optimizer("muon", model, lr=1e-3, alpha=1.0)
    for name in ("adamw", "scalar_beta10"):
        with pytest.raises(ValueError, match=f"adamw_lr applies to 'sn' and 'muon' only .*not to '{name}'"):
            build_optimizer(name, model, lr=1e-3, adamw_lr=1e-3, s_by_layer=S)
    with pytest.raises(ValueError, match="optimizer 'muon':.*bogus"):
        build_optimizer("muon", model, lr=1e-3, bogus=1)
    sn = build_optimizer("sn", model, lr=1e-3, alpha=1.5, damping=0.2, weight_decay=0.0)
    assert {g["alpha"] for g in sn.matrix_groups} == {1.5} and {g["damping"] for g in sn.matrix_groups} == {0.2}
