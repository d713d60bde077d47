"""The layer loop (empirics.measurement.runner): planted closed forms (docs/theory-reference.md recipe E), diagnostics, k checks, Kronecker sub-record."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from empirics.measurement.runner import KTooLarge
from empirics.schema import validate
from tests.cases import make_case, mse, run_layers


def _orthonormal(rows: int, cols: int, g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(rows, cols, generator=g, dtype=torch.float64))
    return q


def recipe_e(e_of_lambda, m=7, n=8, r=6, B=20, seed=0):
    r"""Linear least squares, aligned (docs/theory-reference.md recipe E): :math:`A=\sqrt B S\,\mathrm{diag}(\sqrt{\lambda^A})V_0^\top`,
    :math:`t_i=W^*a_i`, :math:`W-W^*=U_0\mathrm{diag}(e)V_0^\top`. Then :math:`H=I_m\otimes C_A`,
    :math:`\sigma_k=e_k\lambda^A_k`, :math:`h^{\rm exact}_k=\lambda^A_k`."""
    g = torch.Generator().manual_seed(seed)
    lam = torch.arange(1, r + 1, dtype=torch.float64) ** -0.9
    S, U0, V0 = _orthonormal(B, r, g), _orthonormal(m, r, g), _orthonormal(n, r, g)
    A = math.sqrt(B) * S @ torch.diag(lam.sqrt()) @ V0.T
    W_star = torch.randn(m, n, generator=g, dtype=torch.float64)
    e = e_of_lambda(lam)
    layer = nn.Linear(n, m, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(W_star + U0 @ torch.diag(e) @ V0.T)
    model = nn.Sequential(layer)
    return model, A, A @ W_star.T, lam, e


def _measure(model, x, y, k, **kw):
    kw.setdefault("kron", False)
    return run_layers(model, mse, x, y, layer_types={"0": "dense"}, k=k, progress=False, **kw)[0]


def test_recipe_e_aligned_alpha_one_half():
    model, x, y, lam, e = recipe_e(lambda lam: lam)  # sigma = lambda^2, h = lambda  ->  alpha = 1/2
    rec = _measure(model, x, y, 6)
    assert torch.allclose(torch.tensor(rec["sigma"], dtype=torch.float64), e * lam, rtol=1e-12)
    assert torch.allclose(torch.tensor(rec["h_exact"], dtype=torch.float64), lam, rtol=1e-10)
    assert torch.allclose(torch.tensor(rec["h_gn"], dtype=torch.float64), lam, rtol=1e-10)  # linear model: GN is exact
    assert max(abs(v) for v in rec["gn_gap"]) < 1e-12
    assert rec["fits"]["alpha"] == pytest.approx(0.5, abs=1e-10)
    assert rec["rank"] == 6 and rec["k"] == 6


def test_recipe_e_alpha_two_exactly():
    model, x, y, lam, e = recipe_e(lambda lam: 0.3 * lam**-0.5)  # sigma = 0.3 sqrt(lambda), h = sigma^2 / 0.09
    rec = _measure(model, x, y, 6)
    assert torch.allclose(
        torch.tensor(rec["h_exact"], dtype=torch.float64),
        torch.tensor(rec["sigma"], dtype=torch.float64) ** 2 / 0.09,
        rtol=1e-10,
    )
    assert rec["fits"]["alpha"] == pytest.approx(2.0, abs=1e-10)
    assert rec["fits"]["r2_alpha"] == pytest.approx(1.0, abs=1e-12)


def test_k_above_rank_raises_or_clamps():
    model, x, y, lam, e = recipe_e(lambda lam: lam)  # rank 6 < min(m, n) = 7
    with pytest.raises(KTooLarge, match=r"'0'.*rank 6"):
        _measure(model, x, y, 7)
    rec = _measure(model, x, y, 7, clamp_k=True)
    assert rec["k"] == 6 and len(rec["sigma"]) == len(rec["h_exact"]) == 6
    notes = " ".join(rec["diagnostics"]["notes"])
    assert "clamped from 7 to 6" in notes and "rank-deficient" in notes


def test_negative_curvature_counted_and_kept():
    model, x, y, lam, e = recipe_e(lambda lam: lam)

    def concave(outputs, targets):
        return -0.5 * ((outputs - targets) ** 2).sum(1)

    rec = run_layers(model, concave, x, y, layer_types={"0": "dense"}, k=4, kron=False, progress=False)[0]
    assert len(rec["h_exact"]) == 4 and all(h < 0 for h in rec["h_exact"])
    assert rec["diagnostics"]["n_nonpositive_h"] == 4
    assert rec["fits"]["alpha"] is None or math.isnan(rec["fits"]["alpha"])
    assert any("non-positive exact" in s for s in rec["diagnostics"]["notes"])


def test_too_few_directions_and_records_validate():
    model, lf, x, y = make_case("conv_bn")
    types = {"0": "conv", "3": "conv", "5": "head"}
    seen = []
    recs = run_layers(
        model, lf, x, y, layer_types=types, k=2, kron=False, fd=True, progress=False, on_layer=seen.append
    )
    assert [r["name"] for r in recs] == ["0", "3", "5"] and seen == recs
    for r in recs:
        assert r["weight_shape"][0] == r["shape"][0] and len(r["h_fd"]) == 2
        assert any("too few directions" in s for s in r["diagnostics"]["notes"])
        # conv/BN-eval/ReLU/linear: piecewise linear. 5 outputs per sample > 0.5 x 6 directions: the three
        # layers go together through fwd_adj (not the output adjoints), whose residual part then vanishes
        assert r["curvature_method"] == "fwd_adj"
        assert any(s.startswith("fwd_adj form: ") for s in r["diagnostics"]["notes"]), r["diagnostics"]["notes"]
        assert max(abs(g) for g in r["gn_gap"]) <= 1e-12 * max(abs(h) for h in r["h_exact"])
    doc = {
        "schema": "sad-results/1",
        "complete": True,
        "run": {
            "model": "m",
            "architecture": "a",
            "dataset": "d",
            "dataset_kind": "synthetic",
            "task": "classification",
            "batch_size": 6,
            "k": 2,
            "dtype": "float64",
            "device": "cpu",
            "seed": 0,
        },
        "provenance": {},
        "layers": recs,
    }
    from empirics.schema import to_jsonable

    validate(to_jsonable(doc))
    skipped = run_layers(
        model, lf, x, y, layer_types=types, k=2, kron=False, progress=False, skip=frozenset({"0", "3"})
    )
    assert [r["name"] for r in skipped] == ["5"]


def test_kron_sub_record_attached():
    model, lf, x, y = make_case("mlp_ce")
    rec = run_layers(model, lf, x, y, layer_types={"0": "dense"}, k=3, kron=True, gn=False, progress=False)[0]
    assert "h_gn" not in rec
    kr = rec["kron"]
    assert kr["convention"].startswith("row-major")
    assert len(kr["h_kron_ef"]) == 3 and "exponents" in kr


def test_empty_batch_rejected():
    model, lf, x, y = make_case("mlp_ce")
    with pytest.raises(ValueError, match="empty batch"):
        run_layers(model, lf, x[:0], y[:0], layer_types={"0": "dense"}, k=2, kron=False, progress=False)


def test_zero_gradient_layer_clamped_to_nothing():
    model, x, y, lam, e = recipe_e(lambda lam: lam)
    with torch.no_grad():  # targets = outputs: zero residuals, an exactly zero gradient
        y = model(x)
    with pytest.raises(KTooLarge, match="rank 0"):
        _measure(model, x, y, 2)
    rec = _measure(model, x, y, 2, clamp_k=True, fd=True)
    assert rec["k"] == 0 and rec["sigma"] == [] and rec["h_exact"] == []
    assert any("no direction measured" in s for s in rec["diagnostics"]["notes"])
