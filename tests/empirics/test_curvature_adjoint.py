"""The reverse (output-adjoint) form of gn_exact (float64): equals the dense Hessian, the jvp form and the
paper's protocol on piecewise-linear nets; refuses, with the reason recorded and the jvp form used instead,
when samples interact, a weight is used outside its module, a module is called twice, or it would not pay."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirics import curvature as C
from empirics.curvature import adjoint as R
from tests.cases import PL_CASES, TOL, build_pl, ce, dense_h, dirs_of, mse, rel, values


@pytest.mark.parametrize("case", list(PL_CASES))
def test_reverse_matches_dense_hessian_jvp_form_and_paper(case):
    factory, kind, loss, pl, _ = PL_CASES[case]
    model, lf, x, y = build_pl(factory, kind, loss)
    dirs = dirs_of(model, lf, x, y, pl)
    res = C.exact_curvatures(model, lf, x, y, dirs, method="gn_exact", gn_form="reverse", chunk_size=2)
    for n in pl:
        assert res[n].gn_form.startswith("reverse"), res[n]
    h = values(res)
    hj = values(C.exact_curvatures(model, lf, x, y, dirs, method="gn_exact", gn_form="jvp"))
    pp = values(C.paper_protocol_curvatures(model, lf, x, y, dirs))
    for n in pl:
        ref = dense_h(model, lf, x, y, n, dirs[n])
        assert ref.abs().max() > 0
        assert rel(h[n], ref) < TOL, (case, n, h[n], ref)
        assert rel(h[n], hj[n]) < TOL and rel(h[n], pp[n]) < TOL


def test_reverse_on_sequences_and_mixed_layer_sets():
    """Linear layers applied per position (B, T, d): the adjoint contraction sums over positions; a non-PL
    layer in the same call goes to an exact method, the PL ones share the adjoints."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 3)).double().eval()
    x = torch.randn(7, 4, 5, dtype=torch.float64)
    y = torch.randn(7, 4, 3, dtype=torch.float64)

    def seq_mse(o, t):
        return 0.5 * ((o - t) ** 2).sum((1, 2))

    dirs = dirs_of(model, seq_mse, x, y, ["0", "2", "4"], k=3)
    res = C.exact_curvatures(model, seq_mse, x, y, dirs, gn_form="reverse")
    h = values(res)
    assert res["0"].method in ("fwd_adj", "fwd_fwd", "fwd_rev", "rev_rev")  # tanh downstream: not PL
    assert res["2"].gn_form.startswith("reverse: 12 output adjoints shared by 2 layer(s)")
    for n in ("0", "2", "4"):
        assert rel(h[n], dense_h(model, seq_mse, x, y, n, dirs[n])) < TOL


class BatchCentred(nn.Module):
    """Subtracts the batch mean after the first layer: linear (so piecewise linear), but samples interact."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 4)

    def forward(self, x):
        h = self.a(x)
        return self.b(F.relu(h - h.mean(0, keepdim=True)))


class TiedTwice(nn.Module):
    """Uses layer a's weight again outside the module (a tied weight)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 6), nn.Linear(6, 4)

    def forward(self, x):
        h = F.relu(self.a(x))
        return self.b(F.linear(h, self.a.weight))


class CalledTwice(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 6), nn.Linear(6, 4)

    def forward(self, x):
        return self.b(F.relu(self.a(F.relu(self.a(x)))))


@pytest.mark.parametrize(
    "factory, why",
    [
        (BatchCentred, "disagree with a jvp check"),
        (TiedTwice, "disagree with a jvp check"),
        (CalledTwice, "called 2 times"),
    ],
)
def test_reverse_refuses_and_the_jvp_form_stays_exact(factory, why):
    torch.manual_seed(1)
    model = factory().double().eval()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(9, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (9,), generator=g)
    dirs = dirs_of(model, ce, x, y, ["a"], k=3)
    with pytest.raises(R.ReverseUnavailable, match=why):
        R.reverse_gn_curvatures(model, ce, x, y, dirs, force=True)
    res = C.exact_curvatures(model, ce, x, y, dirs, gn_form="reverse")
    assert "reverse form not used" in (res["a"].gn_form or "reverse form not used") or res["a"].method != (
        C.GN_EXACT_LABEL
    )
    assert rel(res["a"].values, dense_h(model, ce, x, y, "a", dirs["a"])) < TOL


def values_jvp_form(model, loss, x, y, dirs) -> str:
    """The form the gn_exact method (not auto) reports under the cost rule."""
    return C.exact_curvatures(model, loss, x, y, dirs, method="gn_exact")["0"].gn_form


def test_auto_rule_uses_jvp_when_outputs_outnumber_directions():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 40)).double().eval()
    x = torch.randn(5, 6, dtype=torch.float64)
    y = torch.randn(5, 40, dtype=torch.float64)
    dirs = dirs_of(model, mse, x, y, ["0", "2"], k=3)  # 6 directions, 40 outputs per sample
    res = C.exact_curvatures(model, mse, x, y, dirs)  # the cost rule declines: the layers go to fwd_adj
    assert res["0"].method == "fwd_adj" and "reverse form not used: 40 outputs per sample" in res["0"].note
    assert "jvp (reverse form not used: 40 outputs per sample" in values_jvp_form(model, mse, x, y, dirs)
    h = values(res)
    res_r = C.exact_curvatures(model, mse, x, y, dirs, gn_form="reverse")  # forced: same numbers
    assert res_r["0"].gn_form.startswith("reverse")
    hr = values(res_r)
    for n in dirs:
        assert rel(h[n], hr[n]) < TOL
    with pytest.raises(ValueError, match="gn_form must be one of"):
        C.exact_curvatures(model, mse, x, y, dirs, gn_form="backwards")


def test_check_is_sensitive_to_a_wrong_adjoint(monkeypatch):
    """The certificate is not vacuous: corrupting one adjoint entry makes it refuse."""
    factory, kind, loss, pl, _ = PL_CASES["mlp_relu_ce"]
    model, lf, x, y = build_pl(factory, kind, loss)
    dirs = dirs_of(model, lf, x, y, pl)
    real = torch.einsum

    def corrupt(eq, *ops):
        out = real(eq, *ops)
        if eq == "cb...,kb...->kbc":
            out = out.clone()
            out[0, 0, 0] += 1e-6 * out.abs().max()
        return out

    monkeypatch.setattr(R.torch, "einsum", corrupt)
    with pytest.raises(R.ReverseUnavailable, match="disagree"):
        R.reverse_gn_curvatures(model, lf, x, y, dirs, force=True)  # a fresh check: no cache passed


def _relu_conv_case():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(8 * 8 * 8, 10),
    ).double().eval()  # fmt: skip
    x, y = torch.randn(32, 3, 8, 8, dtype=torch.float64), torch.randint(0, 10, (32,))
    return model, ce, x, y, dirs_of(model, ce, x, y, ["0", "2", "5"], k=8)


@pytest.mark.parametrize("times_least", [1.0, 1.5, 3.0])
def test_a_budget_caps_the_tensor_peak_of_the_reverse_form(times_least):
    """Output components per backward and directions per contraction follow ``max_memory``: the peak tensor
    bytes of the call (allocator totals in the profiler's allocation events) stay within it, the values do not
    move, and the call without a budget goes higher (above 1.5 × the least). Below the least: refused, naming it."""
    from benchmarks.timing import tensor_peak_bytes
    from empirics.curvature.row_budget import MemoryBudgetError

    model, lf, x, y, dirs = _relu_conv_case()
    cache: dict = {}
    free, info = R.reverse_gn_curvatures(model, lf, x, y, dirs, force=True, cache=cache)
    with pytest.raises(MemoryBudgetError, match="below what the output-adjoint form needs here") as exc:
        R.reverse_gn_curvatures(model, lf, x, y, dirs, force=True, cache=cache, max_memory=2**16)
    budget = int(times_least * exc.value.least)
    kw = {"force": True, "cache": cache, "max_memory": budget}
    got, info_b = R.reverse_gn_curvatures(model, lf, x, y, dirs, **kw)
    assert info_b["class_chunk"] < info["class_chunk"] == 10
    for n in dirs:
        assert rel(got[n], free[n]) < TOL
    peak = tensor_peak_bytes(lambda: R.reverse_gn_curvatures(model, lf, x, y, dirs, **kw))
    assert peak is not None and 0 < peak <= budget, (peak, budget)
    unbudgeted = tensor_peak_bytes(lambda: R.reverse_gn_curvatures(model, lf, x, y, dirs, force=True, cache=cache))
    assert unbudgeted is not None and peak < unbudgeted and unbudgeted > 1.5 * exc.value.least, unbudgeted
