"""The forward-adjoint method (``fwd_adj``): exact against dense float64 Hessians, its Gauss–Newton part against
the jvp form, any grouping of the directions, the generic per-op rule, and the cases it refuses (the engine
then falls back to double backward with the reason kept)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.timing import tensor_peak_bytes
from empirics import curvature as C
from empirics.curvature import forward_adjoint as FA
from empirics.curvature import row_budget as RB
from empirics.curvature import tangent_rules as TR
from empirics.layers import resolve_layers
from tests.cases import CASES, NON_PL_CASES, PL_CASES, TOL, build_pl, ce, dense_h, dirs_of, mse, rel, setup_case


def _check(model, lf, x, y, dirs, **kw):
    r = C.fwd_adj_curvatures(model, lf, x, y, dirs, cache=C.EngineCache(), **kw)
    gn = C.gn_curvatures(model, lf, x, y, dirs)
    for n, D in dirs.items():
        ref = dense_h(model, lf, x, y, n, D)
        assert ref.abs().max() > 0
        assert rel(r.exact[n], ref) < TOL, (n, r.exact[n], ref)
        assert rel(r.gn[n], gn[n].values) < TOL, (n, r.gn[n], gn[n].values)
    return r


@pytest.mark.parametrize("case", CASES)
def test_matches_dense_hessian_and_gn(case):
    model, lf, x, y, _, dirs = setup_case(case)
    r = _check(model, lf, x, y, dirs)
    assert r.check_rel_err is not None and r.check_rel_err < 1e-10


@pytest.mark.parametrize("case", list(PL_CASES) + list(NON_PL_CASES))
def test_piecewise_and_non_piecewise_cases(case):
    spec = {**PL_CASES, **NON_PL_CASES}[case]
    model, lf, x, y = build_pl(*spec[:3])
    layers = resolve_layers(model)
    r = _check(model, lf, x, y, dirs_of(model, lf, x, y, layers))
    for n in spec[3] if case in PL_CASES else []:  # piecewise linear: no residual part
        assert rel(r.gn[n], r.exact[n]) < TOL


def test_the_default_groups_are_sized_within_the_default_working_memory(monkeypatch):
    """Without ``max_memory`` the groups take :func:`~empirics.curvature.memory.default_budget` (a quarter of the
    free memory, at most 2 GiB on CPU), the same default as the output-adjoint blocks."""
    from empirics.curvature import memory as M

    seen: list[int] = []
    real = FA.plan_rows
    monkeypatch.setattr(FA, "plan_rows", lambda *a: seen.append(a[-1]) or real(*a))
    monkeypatch.setattr(M, "available_bytes", lambda device: 6 * 1024**3)
    model, lf, x, y, _, dirs = setup_case("attention", k=3)
    C.fwd_adj_curvatures(model, lf, x, y, dirs)
    assert seen == [1.5 * 1024**3]


@pytest.mark.parametrize("rows", [1, 2, 5])
def test_any_grouping_of_the_directions_gives_the_same_values(rows):
    """Groups that split a layer's directions and groups that span layers."""
    model, lf, x, y, _, dirs = setup_case("attention", k=3)
    full = C.fwd_adj_curvatures(model, lf, x, y, dirs)
    part = C.fwd_adj_curvatures(model, lf, x, y, dirs, rows=rows)
    assert part.groups == -(-sum(D.shape[0] for D in dirs.values()) // rows)
    for n in dirs:
        assert torch.allclose(part.exact[n], full.exact[n], rtol=1e-12, atol=1e-15)
    assert full.order[0] == "qkv"  # rows ordered by first use: the longest tangent path first


def test_memory_budget_sets_the_group_size():
    model, lf, x, y, _, dirs = setup_case("conv_bn")
    n_rows = sum(D.shape[0] for D in dirs.values())
    free = C.fwd_adj_curvatures(model, lf, x, y, dirs)
    assert free.bytes is None and free.groups == 1 and free.rows_per_group == n_rows  # no budget: no probe
    roomy = C.fwd_adj_curvatures(model, lf, x, y, dirs, max_memory=1 << 30)
    b = roomy.bytes
    assert b is not None and b.saved > 0 and b.adjoints > 0 and b.per_row > 0 and b.forward > 0
    assert roomy.groups == 2 and roomy.rows_per_group == n_rows - 1  # the one-row probe, then all the rest
    least = RB.minimum_bytes(b)
    one = C.fwd_adj_curvatures(model, lf, x, y, dirs, max_memory=least)
    assert one.rows_per_group == int((least - b.fixed) // b.row) < n_rows - 1
    for n in dirs:
        assert torch.allclose(one.exact[n], free.exact[n], rtol=1e-12, atol=1e-15)
    with pytest.raises(FA.MemoryBudgetError, match="below what fwd_adj needs here"):
        C.fwd_adj_curvatures(model, lf, x, y, dirs, max_memory=least - 1)


def tanh_mlp_case(width: int = 96, batch: int = 64, k: int = 12):
    """Linear 32→W · tanh · Linear W→W · tanh · Linear W→10 (float64), its two hidden layers' top-k directions."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 10))
    model = model.double()
    x, y = torch.randn(batch, 32, dtype=torch.float64), torch.randint(0, 10, (batch,))
    return model, ce, x, y, dirs_of(model, ce, x, y, ["0", "2"], k=k)


@pytest.mark.parametrize("times_least", [1.0, 1.5, 3.0])
def test_memory_budget_caps_the_tensor_peak(times_least):
    """The peak tensor bytes of a call (pass 1, the probe group, the groups), counted by the allocator's total
    in the profiler's allocation events, stay within ``max_memory``; the default groups (no budget) go above
    the largest budget tried. The one-time double-backward check is outside the budget: done by a first call."""
    model, lf, x, y, dirs = tanh_mlp_case()
    cache = C.EngineCache()
    b = C.fwd_adj_curvatures(model, lf, x, y, dirs, cache=cache, max_memory=1 << 30).bytes
    assert b is not None
    budget = int(times_least * RB.minimum_bytes(b))
    peak = tensor_peak_bytes(lambda: C.fwd_adj_curvatures(model, lf, x, y, dirs, max_memory=budget, cache=cache))
    assert peak is not None and 0 < peak <= budget, (peak, budget)
    unbudgeted = tensor_peak_bytes(lambda: C.fwd_adj_curvatures(model, lf, x, y, dirs, cache=cache))
    assert unbudgeted is not None and unbudgeted > 3.0 * RB.minimum_bytes(b), unbudgeted


class Generic(nn.Module):
    """Ops without a closed-form rule here (softplus, logsumexp, tanh-GELU, sin, atan, ELU): the generic
    per-op forward-mode rule."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(5, 6), nn.Linear(6, 6), nn.Linear(6, 3)

    def forward(self, x):
        h = F.softplus(self.a(x)) + torch.sin(self.a(x))
        h = F.gelu(self.b(h), approximate="tanh") - torch.logsumexp(h, -1, keepdim=True)
        return self.c(F.elu(torch.atan(h)))


class Reused(nn.Module):
    """One Linear applied twice (the weight enters twice: a genuine second-order term in W) and a weight tied
    to another module."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(5, 5)
        self.b = nn.Linear(5, 5)
        self.head = nn.Linear(5, 3)
        self.c = nn.Linear(5, 5, bias=False)
        self.c.weight = self.b.weight

    def forward(self, x):
        h = torch.tanh(self.a(torch.tanh(self.a(x))))
        return self.head(self.c(torch.relu(self.b(h))))


@pytest.mark.parametrize("factory", [Generic, Reused], ids=["generic_ops", "reused_and_tied"])
def test_generic_rule_reused_and_tied_weights(factory):
    g = torch.Generator().manual_seed(1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        model = factory().double().eval()
    x, y = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (7,), generator=g)
    layers = resolve_layers(model)
    r = _check(model, ce, x, y, dirs_of(model, ce, x, y, layers))
    if factory is Reused:  # a module called twice and a tied weight: their tangents start at the weight
        assert set(r.at_output) == {"head"}, r.at_output
    else:  # `a` is called twice per forward (its tangent starts at the weight); b and c once each: at the outputs
        assert set(r.at_output) == set(layers) - {"a"}, r.at_output


class ViewWrite(nn.Module):
    """Writes a dependent tensor into a slice of a buffer (an in-place write into a view)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 3), nn.Linear(6, 2)

    def forward(self, x):
        buf = torch.zeros(x.shape[0], 6, dtype=x.dtype)
        buf[:, :3] = torch.tanh(self.a(x))
        return self.b(buf * buf)


class GradModeBranch(nn.Module):
    """Runs another op when autograd is on: the two passes would not see the same forward."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 5), nn.Linear(5, 2)

    def forward(self, x):
        h = torch.tanh(self.a(x))
        if torch.is_grad_enabled():
            h = torch.exp(h) - torch.exp(h) + h  # the same value through other ops
        return self.b(h)


@pytest.mark.parametrize(
    ("factory", "why"),
    [(ViewWrite, "in-place write into a view"), (GradModeBranch, "differs between the two passes")],
)
def test_refused_models_fall_back_with_the_reason(factory, why):
    torch.manual_seed(2)
    model = factory().double().eval()
    x, y = torch.randn(6, 4, dtype=torch.float64), torch.randint(0, 2, (6,))
    layers = resolve_layers(model)
    dirs = dirs_of(model, ce, x, y, layers, k=2)
    with pytest.raises(C.forward_adjoint.Unsupported, match=why):
        C.fwd_adj_curvatures(model, ce, x, y, dirs)
    with pytest.raises(ValueError, match="'fwd_adj' does not cover this model"):
        C.exact_curvatures(model, ce, x, y, dirs, method="fwd_adj")
    res = C.exact_curvatures(model, ce, x, y, dirs)  # auto: per layer, the reason kept
    for n in layers:
        assert res[n].method != "fwd_adj" and why in res[n].failed["fwd_adj"]
        if factory is ViewWrite:
            assert rel(res[n].values, dense_h(model, ce, x, y, n, dirs[n])) < TOL


def test_double_backward_check_catches_a_wrong_rule(monkeypatch):
    """A wrong second derivative (tanh's φ'' off by 1 %) is caught by the per-call check; auto falls back."""
    model, lf, x, y, _, dirs = setup_case("mlp_ce")
    right = TR._UNARY["tanh"]
    monkeypatch.setitem(TR._UNARY, "tanh", lambda x, yv: (right(x, yv)[0], 1.01 * right(x, yv)[1]))
    with pytest.raises(C.forward_adjoint.Unsupported, match="double-backward check failed"):
        C.fwd_adj_curvatures(model, lf, x, y, dirs)
    res = C.exact_curvatures(model, lf, x, y, dirs)
    for n in dirs:
        assert res[n].method != "fwd_adj" and "check failed" in res[n].failed["fwd_adj"]
        assert rel(res[n].values, dense_h(model, lf, x, y, n, dirs[n])) < TOL


def test_layer_norm_runs_fused_and_the_check_takes_the_explicit_path(monkeypatch):
    """The passes see torch's one ``native_layer_norm`` op (its own rule); the certifying double backward goes
    through the explicit form, so a wrong layer-norm rule (source term off by 1 %) is caught."""
    model, lf, x, y = build_pl(*NON_PL_CASES["layer_norm"][:3])
    dirs = dirs_of(model, lf, x, y, resolve_layers(model))
    seen = []
    right = TR._layer_norm

    def spy(args, out, tans, nd):
        seen.append(len(tans))
        return right(args, out, tans, nd)

    monkeypatch.setattr(TR, "_layer_norm", spy)
    _check(model, lf, x, y, dirs)
    assert seen, "the layer norm was not one fused op in pass 2"

    def wrong(args, out, tans, nd):
        yt, src = right(args, out, tans, nd)
        return yt, (None if src is None else (lambda lam: (lambda r: (r[0], 1.01 * r[1]))(src(lam))))

    monkeypatch.setattr(TR, "_layer_norm", wrong)
    with pytest.raises(C.forward_adjoint.Unsupported, match="double-backward check failed"):
        C.fwd_adj_curvatures(model, lf, x, y, dirs)


class LateWrite(nn.Module):
    """A tensor of the forward's prefix (before the measured layer ``b``) written in place after it."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.head = nn.Linear(4, 6), nn.Linear(6, 6), nn.Linear(6, 3)

    def forward(self, x):
        p = x * 2
        h = torch.tanh(self.b(torch.tanh(self.a(p))))
        p.mul_(0.5)
        return self.head(h * p.sum(-1, keepdim=True))


def _deep_layer_model(inplace_relu: bool):
    torch.manual_seed(5)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace=inplace_relu), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 3))


@pytest.mark.parametrize(
    ("build", "layer", "reused"),
    [
        (lambda: _deep_layer_model(False), "2", True),
        (lambda: _deep_layer_model(True), "2", False),  # the prefix writes in place: not cached (conservative)
        (LateWrite, "b", False),  # a cached tensor written after the prefix: the cache is emptied
    ],
    ids=["prefix_reused", "inplace_prefix", "written_after_prefix"],
)
def test_forward_prefix_is_computed_once_across_groups(build, layer, reused):
    """Groups after the first take the ops before the first tangent from the first group (PrefixCache) where
    that is safe; every grouping gives the dense Hessian's values (reusing LateWrite's prefix would not)."""
    model = build().double().eval()
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(9, 4, generator=g, dtype=torch.float64), torch.randint(0, 3, (9,), generator=g)
    dirs = dirs_of(model, ce, x, y, [layer], k=4)
    one = C.fwd_adj_curvatures(model, ce, x, y, dirs, cache=C.EngineCache())
    split = C.fwd_adj_curvatures(model, ce, x, y, dirs, cache=C.EngineCache(), rows=1)
    assert one.groups == 1 and one.replayed == 0 and split.groups == 4
    assert (split.replayed > 0) == reused, split.replayed
    ref = dense_h(model, ce, x, y, layer, dirs[layer])
    assert rel(split.exact[layer], ref) < TOL and rel(one.exact[layer], ref) < TOL


def test_float32_rules_keep_their_dtype():
    """A rule's own ops run with autocast excluded: the dispatch guard that restores torch.func's keys once also
    dropped torch's default exclusion of the autocast keys, and a float32 matmul inside a rule (attention's
    q·kᵀ, both factors varying) ran in bfloat16 on CPU (float16 on CUDA)."""
    model, lf, x, y, _, dirs = setup_case("attention", k=3)
    r64 = C.fwd_adj_curvatures(model, lf, x, y, dirs, check=False)
    m32 = copy.deepcopy(model).float()
    x32 = x.float() if x.is_floating_point() else x
    r32 = C.fwd_adj_curvatures(m32, lf, x32, y, {n: D.float() for n, D in dirs.items()}, check=False)
    for n in dirs:
        assert r32.exact[n].dtype == torch.float32
        assert rel(r32.exact[n].double(), r64.exact[n]) < 1e-5, (n, r32.exact[n], r64.exact[n])


def test_mse_on_sequences_and_passed_check_is_cached():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(5, 6), nn.GELU(), nn.LayerNorm(6), nn.Linear(6, 3)).double().eval()
    x, y = torch.randn(4, 7, 5, dtype=torch.float64), torch.randn(4, 7, 3, dtype=torch.float64)

    def seq_mse(o, t):
        return mse(o.reshape(-1, 3), t.reshape(-1, 3)).reshape(4, 7).sum(1)

    dirs = dirs_of(model, seq_mse, x, y, ["0", "3"], k=3)
    cache = C.EngineCache()
    first = C.fwd_adj_curvatures(model, seq_mse, x, y, dirs, cache=cache)
    assert len(cache.adjoint_checks) == 1
    again = C.fwd_adj_curvatures(model, seq_mse, x, y, dirs, cache=cache)
    assert again.check_rel_err == first.check_rel_err
    for n in dirs:
        assert rel(first.exact[n], dense_h(model, seq_mse, x, y, n, dirs[n])) < TOL


def test_pass_one_graph_is_released_before_the_tangent_passes(monkeypatch):
    """Pass 1's op outputs (the recorder's list of outputs to differentiate, which kept their autograd history
    and the saved activations alive) are released before the tangent passes run: three such tensors alive
    during every group before the fix, at most one now (an op output held from C++, not from a Python list of
    the method: not found by ``gc.get_referrers``; left)."""
    import gc

    from empirics.curvature import tangent_modes as TM

    model, lf, x, y, dirs = tanh_mlp_case(width=16, batch=8, k=2)

    def with_history() -> set[int]:  # tensors with an autograd history alive now (other tests' included)
        gc.collect()
        return {id(o) for o in gc.get_objects() if isinstance(o, torch.Tensor) and o.grad_fn is not None}

    before = with_history()
    alive = []
    enter = TM.TangentPropagator.__enter__

    def counting_enter(self):
        alive.append(len(with_history() - before))
        return enter(self)

    monkeypatch.setattr(TM.TangentPropagator, "__enter__", counting_enter)
    C.fwd_adj_curvatures(model, lf, x, y, dirs, rows=1)
    assert alive and max(alive) <= 1, alive
