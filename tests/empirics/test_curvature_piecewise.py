"""The gn_exact shortcut (float64): the piecewise-linearity detector's verdicts, gn_exact = dense Hessian =
paper protocol on piecewise-linear nets, and auto's fallback to an exact method elsewhere."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from empirics import curvature as C
from empirics.curvature import piecewise_linear_layers
from tests.cases import NON_PL_CASES, PL_CASES, TOL, build_pl, ce, conv_pool, dense_h, dirs_of, rel, values

EXACT = ("fwd_adj", "fwd_fwd", "fwd_rev", "rev_rev")


@pytest.mark.parametrize("case", list(PL_CASES))
def test_gn_exact_matches_dense_hessian_and_paper_protocol(case):
    factory, kind, loss, pl, _ = PL_CASES[case]
    model, lf, x, y = build_pl(factory, kind, loss)
    verdicts = piecewise_linear_layers(model, x, pl)
    assert all(v.piecewise_linear for v in verdicts.values()), verdicts
    dirs = dirs_of(model, lf, x, y, pl)
    h = values(C.exact_curvatures(model, lf, x, y, dirs, method="gn_exact", chunk_size=2))
    pp = values(C.paper_protocol_curvatures(model, lf, x, y, dirs))
    for n in pl:
        ref = dense_h(model, lf, x, y, n, dirs[n])
        assert ref.abs().max() > 0
        assert rel(h[n], ref) < TOL, (case, n, h[n], ref)
        assert rel(h[n], pp[n]) < TOL, (case, n)
    ha = C.exact_curvatures(model, lf, x, y, dirs)  # auto: shared output adjoints, or fwd_adj (few directions)
    for n in pl:
        assert ha[n].method in (C.GN_EXACT_LABEL, "fwd_adj")
        assert rel(ha[n].values, pp[n]) < TOL
        if ha[n].method == "fwd_adj":  # piecewise linear: the residual part vanishes, h = h_GN
            assert rel(ha[n].gn_values, ha[n].values) < TOL and ha[n].note.startswith("piecewise linear")


@pytest.mark.parametrize("case", list(NON_PL_CASES))
def test_detector_says_no_and_auto_falls_back_to_an_exact_method(case):
    factory, kind, loss, pl, not_pl, why = NON_PL_CASES[case]
    model, lf, x, y = build_pl(factory, kind, loss)
    verdicts = piecewise_linear_layers(model, x, pl + not_pl)
    for n in not_pl:
        assert not verdicts[n].piecewise_linear and why in verdicts[n].reason, (n, verdicts[n])
    for n in pl:  # e.g. a last linear layer: its output is linear in W; the loss is not traced
        assert verdicts[n].piecewise_linear, (n, verdicts[n])
    dirs = dirs_of(model, lf, x, y, not_pl)
    res = C.exact_curvatures(model, lf, x, y, dirs, method="auto", chunk_size=2)
    h = values(res)
    hg = values(C.gn_curvatures(model, lf, x, y, dirs))
    for n in not_pl:
        ref = dense_h(model, lf, x, y, n, dirs[n])
        assert rel(h[n], ref) < TOL, (case, n)
        assert res[n].method in EXACT and why in res[n].note
        assert rel(hg[n], ref) > 1e-6, (case, n)  # the shortcut would have been wrong here
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
    model, lf, x, y = build_pl(conv_pool, "img", ce)
    before = {n: t.clone() for n, t in model.state_dict().items()}
    ref = model(x)
    piecewise_linear_layers(model, x, ["0", "4"])
    assert all(torch.equal(before[n], t) for n, t in model.state_dict().items())
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert torch.equal(model(x), ref)
