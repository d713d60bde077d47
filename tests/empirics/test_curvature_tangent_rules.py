"""Closed-form tangent rules of single ATen ops (``empirics.curvature.tangent_rules``) against ``torch.func``'s
nested forward-mode AD of the same function written in elementary ops."""

from __future__ import annotations

import pytest
import torch
from torch.func import jvp

from empirics.curvature import tangent_rules as TR
from empirics.curvature.forms import explicit_layer_norm
from empirics.curvature.tangent_modes import flat_arguments
from empirics.curvature.tangents import Tan

LN = torch.ops.aten.native_layer_norm.default


def _reference(x, shape, w, b, eps, dx, dw, db, lam):
    """Per row: ẏ and <λ, d²/dt² LN(x + t ẋ, γ + t γ̇, β + t β̇)> by nested jvp of the explicit form."""

    def f(x_, w_, b_):
        return explicit_layer_norm(x_, shape, w_, b_, eps)

    prims = (x, w, b) if w is not None else (x,)
    ys, ss = [], []
    for n in range(dx.shape[0]):
        tang = (dx[n], dw[n], db[n]) if w is not None else (dx[n],)
        g = f if w is not None else (lambda x_: f(x_, None, None))
        ys.append(jvp(g, prims, tang)[1])
        ss.append((jvp(lambda *p, t=tang, g=g: jvp(g, p, t)[1], prims, tang)[1] * lam).sum())
    return torch.stack(ys), torch.stack(ss)


@pytest.mark.parametrize("shape", [[6], [3, 4]], ids=["last_dim", "two_dims"])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_rule_matches_nested_jvp(shape, affine):
    """Tangents on the input, γ and β over different, overlapping row ranges (rows 0-4, 2-6, 6-7 of 8)."""
    g = torch.Generator().manual_seed(0)
    dt = torch.float64
    x = torch.randn(2, 5, *shape, generator=g, dtype=dt) * 2 + 0.5
    w = torch.randn(*shape, generator=g, dtype=dt) if affine else None
    b = torch.randn(*shape, generator=g, dtype=dt) if affine else None
    eps = 1e-5
    rows = 8
    full = torch.zeros(rows, *x.shape, dtype=dt)
    full[0:5] = torch.randn(5, *x.shape, generator=g, dtype=dt)
    fw, fb = torch.zeros(rows, *shape, dtype=dt), torch.zeros(rows, *shape, dtype=dt)
    tans = {0: Tan(0, full[0:5])}
    if affine:
        fw[2:7] = torch.randn(5, *shape, generator=g, dtype=dt)
        fb[6:8] = torch.randn(2, *shape, generator=g, dtype=dt)
        wi = 1 + len(shape)  # flat index of γ: the normalised shape's ints come before it
        tans[wi], tans[wi + 1] = Tan(2, fw[2:7]), Tan(6, fb[6:8])
    args = (x, shape, w, b, eps)
    out = LN(*args)
    lam = torch.randn(*x.shape, generator=g, dtype=dt)
    flat, spec = flat_arguments(args, {})
    yt, src = TR.apply_rule(LN, args, {}, out, tans, flat, spec)
    ref_y, ref_s = _reference(x, shape, w, b, eps, full, fw, fb, lam)

    assert yt[1] is None and yt[2] is None  # mean and rstd: not differentiable outputs
    assert yt[0].start == 0
    got = torch.zeros_like(ref_y)
    got[yt[0].start : yt[0].stop] = yt[0].val
    assert torch.allclose(got, ref_y, rtol=1e-12, atol=1e-12)
    start, vals = src(lam)
    s = torch.zeros(rows, dtype=dt)
    s[start : start + vals.shape[0]] = vals
    assert ref_s[:5].abs().max() > 1e-3  # the input's rows carry a genuine source term
    assert torch.allclose(s, ref_s, rtol=1e-10, atol=1e-10), (s, ref_s)


def test_layer_norm_rule_without_an_input_tangent_is_linear():
    """Only γ varies: ẏ = x̂ γ̇, and no source term (the output is linear in γ)."""
    g = torch.Generator().manual_seed(1)
    x, w, b = (torch.randn(*s, generator=g, dtype=torch.float64) for s in ((3, 4), (4,), (4,)))
    args = (x, [4], w, b, 1e-5)
    out = LN(*args)
    v = torch.randn(2, 4, generator=g, dtype=torch.float64)
    flat, spec = flat_arguments(args, {})
    yt, src = TR.apply_rule(LN, args, {}, out, {2: Tan(0, v)}, flat, spec)
    xhat = explicit_layer_norm(x, [4], None, None, 1e-5)
    assert src is None
    assert torch.allclose(yt[0].val, xhat * v[:, None, :], rtol=1e-12, atol=1e-14)
