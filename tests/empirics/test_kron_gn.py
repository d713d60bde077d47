r"""The Gauss–Newton error factor (docs/theory-reference.md G1): exact mode vs an explicitly formed
:math:`\frac1{BL}\sum_{i,t}J^\top\nabla_f^2\ell\,J`, and the seeded Monte-Carlo estimate converging to it —
including the loss-scale correction :math:`1/c` for an LM whose per-sample loss averages over tokens."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirics.kron import collect_layer_io
from tests.cases import ce

pytestmark = pytest.mark.usefixtures("float64_one_thread")


def lm_loss(o, t):
    B, T, V = o.shape
    return F.cross_entropy(o.reshape(-1, V), t.reshape(-1), reduction="none").reshape(B, T).mean(1)


def rel(a, b):
    a, b = a.detach(), b.detach()
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


def explicit_gn_factor(tail, ys, loss_hessian):
    r""":math:`\frac1N\sum_r J_r^\top\,\mathcal H(f_r)\,J_r` over rows ``ys`` (N, m) of layer outputs, J = d tail / d y."""
    acc = 0
    for y in ys:
        J = torch.autograd.functional.jacobian(tail, y)  # (C, m)
        acc = acc + J.T @ loss_hessian(tail(y)) @ J
    return acc / ys.shape[0]


def softmax_hessian(f):
    p = f.softmax(-1)
    return torch.diag(p) - torch.outer(p, p)


def test_exact_gn_factor_equals_explicit_JT_H_J():
    torch.manual_seed(30)
    model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 4)).eval()
    x, y = torch.randn(20, 5), torch.randint(0, 4, (20,))
    io = collect_layer_io(model, ce, x, y, "0", gn_samples=1, gn_mode="exact")
    ys = model[0](x).detach()
    ref = explicit_gn_factor(model[1:], ys, softmax_hessian)
    assert rel(io.C_delta_gn, ref) < 1e-12
    assert rel(io.C_delta, ref) > 0.05  # the EF factor (true labels) is a different matrix


def test_token_model_exact_and_mc_gn_factor_with_loss_scale():
    """Per-sample loss = mean over T tokens, c = 1/T: the MC second moment must be divided by c."""
    torch.manual_seed(31)
    T = 5
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)).eval()  # acts token-wise
    x, y = torch.randn(12, T, 3), torch.randint(0, 3, (12, T))
    exact = collect_layer_io(model, lm_loss, x, y, "0", gn_samples=1, gn_mode="exact")
    ys = model[0](x).detach().reshape(-1, 4)
    ref = explicit_gn_factor(model[1:], ys, lambda f: softmax_hessian(f) / T)  # Hessian of (1/T) CE per token
    assert exact.L == T and abs(exact.gn["loss_scale"] - 1 / T) < 1e-14
    assert rel(exact.C_delta_gn, ref) < 1e-12
    mc = collect_layer_io(model, lm_loss, x, y, "0", gn_samples=600, seed=3)
    err = rel(mc.C_delta_gn, ref)
    print("token-model MC GN relative error", err)
    assert err < 0.03, err  # MC error ~ 1/sqrt(B T S); a missing 1/c would be off by a factor T = 5
    assert rel(mc.C_delta_gn * (1 / T), ref) > 0.5


def test_gaussian_mc_gn_factor_converges_to_exact():
    torch.manual_seed(32)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).eval()
    x, t = torch.randn(16, 4), torch.randn(16, 3)

    def mse_mean(o, tt):
        return (o - tt).pow(2).mean(1)  # c = 2/3 times the unit-variance Gaussian NLL

    exact = collect_layer_io(model, mse_mean, x, t, "0", gn_samples=1, gn_mode="exact")
    ys = model[0](x).detach()
    ref = explicit_gn_factor(model[1:], ys, lambda f: (2 / 3) * torch.eye(3))
    assert rel(exact.C_delta_gn, ref) < 1e-12
    mc = collect_layer_io(model, mse_mean, x, t, "0", gn_samples=800, seed=4)
    assert mc.gn["likelihood"] == "gaussian" and abs(mc.gn["loss_scale"] - 2 / 3) < 1e-14
    assert rel(mc.C_delta_gn, ref) < 0.08
