"""The ``torch.compile``-d fused kernels of ``fwd_adj`` (``compile_kernels=True``): the same values as the eager
rules and as dense float64 Hessians, through the engine and through ``fwd_adj_curvatures`` directly."""

from __future__ import annotations

import torch

from empirics import curvature as C
from empirics.curvature import fused
from empirics.layers import resolve_layers
from tests.cases import NON_PL_CASES, TOL, build_pl, dense_h, dirs_of, rel


def test_unary_step_is_the_eager_rule():
    g = torch.Generator().manual_seed(0)
    y = torch.tanh(torch.randn(4, 5, generator=g, dtype=torch.float64))
    v = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    lam = torch.randn(4, 5, generator=g, dtype=torch.float64)
    d1, d2 = 1 - y * y, -2 * y * (1 - y * y)
    y1, s = fused.FusedKernels().unary(d1, lam * d2, v)
    assert torch.allclose(y1, d1 * v, rtol=1e-14, atol=0)
    assert torch.allclose(s, torch.einsum("xy,rxy->r", lam * d2, v * v), rtol=1e-12, atol=1e-15)


def test_compiled_kernels_match_eager_and_dense_hessians(monkeypatch):
    calls = []
    unary = fused.FusedKernels.unary
    monkeypatch.setattr(fused.FusedKernels, "unary", lambda self, *a: calls.append(1) or unary(self, *a))
    spec = NON_PL_CASES["mlp_tanh"]
    model, lf, x, y = build_pl(*spec[:3])
    dirs = dirs_of(model, lf, x, y, resolve_layers(model))
    eager = C.exact_curvatures(model, lf, x, y, dirs, method="fwd_adj")
    comp = C.exact_curvatures(model, lf, x, y, dirs, method="fwd_adj", compile_kernels=True)
    direct = C.fwd_adj_curvatures(model, lf, x, y, dirs, compile_kernels=True)
    for n, D in dirs.items():
        ref = dense_h(model, lf, x, y, n, D)
        assert comp[n].method == "fwd_adj"
        assert rel(comp[n].values, ref) < TOL, (n, comp[n].values, ref)
        assert rel(direct.exact[n], ref) < TOL
        assert rel(comp[n].values, eager[n].values) < 1e-12
    assert calls  # the tanh ops went through the fused kernel
