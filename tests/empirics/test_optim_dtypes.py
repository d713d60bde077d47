"""16-bit weights: the transfer in float32, the momentum in float32 (or ``momentum_dtype``), the AdamW part's
state in float32, every new weight rounded to the weight's dtype once. The tolerances against a float32
reference are derived, not tuned:

* a step from the same (16-bit-representable) weights, gradients and state runs the very same float32
  operations as the float32 reference, so every 16-bit parameter (SN's and AdamW's) must be **exactly** the
  reference rounded to its dtype;
* over K steps with the same gradients, SN's direction Δ_k depends on the gradients only, so the two runs
  differ only by the roundings of the weight: e_k = (1−ηλ)e_{k−1} + r_k with |r_k| ≤ u·|w̃_k| (round to
  nearest, u = 2⁻⁸ for bfloat16, 2⁻¹¹ for float16) plus float32 round-off (≤ 2⁻²¹|w|, a generous margin),
  hence |e_K| ≤ Σ_k (u + 2⁻²¹)·1.01·max(|w₁₆,k|, |w_ref,k|) elementwise.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from empirics.optim import Muon, SpectralNewton, compute_dtype, sn_cholesky, sn_direction, sn_eigh, sn_svd

HALF = [torch.bfloat16, torch.float16]
#: unit roundoff of round-to-nearest (2^-p, p significand bits)
UNIT = {torch.bfloat16: 2.0**-8, torch.float16: 2.0**-11}


def _net(dtype, seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 6), nn.LayerNorm(6), nn.Linear(6, 5)
    )
    return model.to(dtype)


def _grads_in(dtype, model, seed):
    """Random gradients representable in ``dtype``, assigned to ``model`` in the model's own dtype."""
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g).to(dtype).to(p.dtype)


def test_compute_dtype():
    assert compute_dtype(torch.float64) == torch.float64
    assert {compute_dtype(d) for d in (torch.float32, torch.bfloat16, torch.float16)} == {torch.float32}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize(
    "route",
    [
        lambda G: sn_cholesky(G, 0.1),
        lambda G: sn_eigh(G, 1.3, 0.1),
        lambda G: sn_svd(G, 0.8, 0.1),
        lambda G: sn_direction(G, 2.0, 0.1),
    ],
)
def test_transfer_of_16_bit_input_is_the_float32_result_in_the_input_dtype(dtype, route):
    G = torch.randn(3, 7, 5, generator=torch.Generator().manual_seed(0)).to(dtype)
    out = route(G)
    assert out.dtype == dtype
    assert torch.equal(out, route(G.float()).to(dtype))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("alpha", [2.0, 1.3])
def test_each_step_is_the_float32_step_rounded_once(dtype, alpha):
    ref = _net(torch.float32)
    with torch.no_grad():  # start from weights representable in the 16-bit dtype
        for p in ref.parameters():
            p.copy_(p.to(dtype))
    low = copy.deepcopy(ref).to(dtype)
    kw = dict(lr=0.05, alpha=alpha, weight_decay=0.1, momentum=0.9)
    a, b = SpectralNewton(ref, **kw), SpectralNewton(low, **kw)
    for seed in (1, 2):  # the second step also uses the momentum and the AdamW state of the first
        _grads_in(dtype, ref, seed)
        _grads_in(dtype, low, seed)
        grads = [q.grad for q in low.parameters()]
        a.step()
        b.step()
        # matrix parameters (SN) and the rest (AdamW): the float32 step rounded once
        for (name, p), q, g in zip(ref.named_parameters(), low.parameters(), grads, strict=True):
            assert q.dtype == dtype and q.grad is g  # the parameter and its gradient are the user's objects
            assert torch.equal(q, p.detach().to(dtype)), name
        for r, q in zip(ref.parameters(), low.parameters(), strict=True):  # continue from the rounded weights
            with torch.no_grad():
                r.copy_(q)


@pytest.mark.parametrize("dtype", HALF)
def test_k_steps_stay_within_the_accumulated_rounding_bound(dtype):
    ref = _net(torch.float32)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(p.to(dtype))
    low = copy.deepcopy(ref).to(dtype)
    lr, wd = 0.05, 0.1
    a = SpectralNewton(ref, lr=lr, alpha="layer_type", weight_decay=wd)
    b = SpectralNewton(low, lr=lr, alpha="layer_type", weight_decay=wd)
    u = UNIT[dtype]
    mats = ("0.weight", "3.weight", "5.weight")
    bound = {n: torch.zeros_like(dict(ref.named_parameters())[n]) for n in mats}
    for k in range(6):
        _grads_in(dtype, ref, 10 + k)
        _grads_in(dtype, low, 10 + k)
        a.step()
        b.step()
        P, Q = dict(ref.named_parameters()), dict(low.named_parameters())
        for n in mats:
            scale = torch.maximum(P[n].detach().abs(), Q[n].detach().float().abs())
            bound[n] = (1 - lr * wd) * bound[n] + (u + 2.0**-21) * 1.01 * scale
    P, Q = dict(ref.named_parameters()), dict(low.named_parameters())
    for n in mats:
        err = (Q[n].detach().float() - P[n].detach()).abs()
        assert bool((err <= bound[n]).all()), (n, (err - bound[n]).max().item())
        assert err.max() > 0  # the 16-bit run did round (the comparison is not vacuous)
        assert bound[n].max() < 10 * u * P[n].detach().abs().max()  # and the bound is tight: ≈ 6 roundings


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("cls", [SpectralNewton, Muon])
def test_momentum_buffer_dtype_and_an_exact_state_dict_round_trip(dtype, cls):
    model = _net(dtype)
    opt = cls(model, lr=0.02)
    for seed in range(2):
        _grads_in(dtype, model, seed)
        opt.step()
    bufs = [opt.state[g["params"][0]]["momentum_buffer"] for g in opt.matrix_groups]
    assert {b.dtype for b in bufs} == {torch.float32}
    adamw_state = {k: v.dtype for st in opt.adamw.state.values() for k, v in st.items() if k != "step"}
    assert adamw_state == {"exp_avg": torch.float32, "exp_avg_sq": torch.float32}
    twin = copy.deepcopy(model)
    opt2 = cls(twin, lr=0.02)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))  # torch alone would cast the buffers to the weight dtype
    for g, g2 in zip(opt.matrix_groups, opt2.matrix_groups, strict=True):
        b, b2 = opt.state[g["params"][0]]["momentum_buffer"], opt2.state[g2["params"][0]]["momentum_buffer"]
        assert b2.dtype == torch.float32 and torch.equal(b, b2)
    for p, p2 in zip(opt.adamw.state, opt2.adamw.state, strict=True):
        assert opt2.adamw.state[p2]["exp_avg_sq"].dtype == torch.float32
        assert torch.equal(opt.adamw.state[p]["exp_avg_sq"], opt2.adamw.state[p2]["exp_avg_sq"])
    for seed in (5, 6):
        _grads_in(dtype, model, seed)
        _grads_in(dtype, twin, seed)
        opt.step()
        opt2.step()
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), twin.parameters(), strict=True))


def test_momentum_dtype_argument_and_float64_weights():
    model = _net(torch.bfloat16)
    opt = SpectralNewton(model, momentum_dtype=torch.bfloat16)
    _grads_in(torch.bfloat16, model, 0)
    opt.step()
    assert {opt.state[g["params"][0]]["momentum_buffer"].dtype for g in opt.matrix_groups} == {torch.bfloat16}
    opt.load_state_dict(opt.state_dict())
    assert {opt.state[g["params"][0]]["momentum_buffer"].dtype for g in opt.matrix_groups} == {torch.bfloat16}
    model64 = _net(torch.float64)
    opt = SpectralNewton(model64)
    _grads_in(torch.float64, model64, 0)
    opt.step()
    assert {opt.state[g["params"][0]]["momentum_buffer"].dtype for g in opt.matrix_groups} == {torch.float64}
    with pytest.raises(ValueError, match="momentum_dtype must be None or a floating torch.dtype"):
        SpectralNewton(model, momentum_dtype=torch.int32)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("cls", [SpectralNewton, Muon])
def test_training_with_16_bit_weights_on_cpu(dtype, cls):
    """Forward, backward and step all in the 16-bit dtype (float16 matmul and conv run on CPU in this torch).

    In float16 the last bias's AdamW step had (1−β₂)g² and eps = 1e-8 underflow to 0 (a division by zero) before
    the AdamW part moved to float32: this test caught it."""
    model = _net(dtype)
    opt = cls(model, lr=0.02)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 3, 6, 6, generator=g).to(dtype), torch.randint(0, 5, (16,), generator=g)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x).float(), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.dtype == dtype and torch.isfinite(p).all() for p in model.parameters())
    assert losses[-1] < losses[0], losses


def test_float16_gradient_whose_sum_overflows_float16_is_still_finite():
    lin = nn.Linear(40, 25, bias=False).to(torch.float16)
    opt = SpectralNewton(lin)
    lin.weight.grad = torch.full_like(lin.weight, 100.0)  # sum 1e5 > float16's max 65504
    assert torch.isinf(lin.weight.grad.sum())
    opt.step()
    assert opt.nonfinite_skips == 0 and torch.isfinite(lin.weight).all()
    lin.weight.grad[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="non-finite gradient in weight"):
        opt.step()


def test_hf_gpt2_in_bfloat16_trains_with_sn():
    """The issue's practitioner case: a HuggingFace GPT-2 stored in bfloat16 (tied head, Conv1D layers)."""
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(
        n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=16, bos_token_id=0, eos_token_id=0
    )
    model = transformers.GPT2LMHeadModel(cfg).to(torch.bfloat16)
    opt = SpectralNewton(model, lr=0.02)
    idx = torch.randint(0, 50, (4, 12), generator=torch.Generator().manual_seed(0))
    losses = []
    for _ in range(6):
        opt.zero_grad()
        out = model(idx, labels=idx)
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    assert all(p.dtype == torch.bfloat16 and torch.isfinite(p).all() for p in model.parameters())
    assert model.lm_head.weight is model.transformer.wte.weight
    assert opt.adamw.state[model.transformer.wte.weight]["exp_avg"].dtype == torch.float32
    assert losses[-1] < losses[0], losses
