r"""empirics.kron's Kronecker factors vs an independent implementation: curvlinops' KFACLinearOperator.

Normalisations reconciled (curvlinops-for-pytorch 3.0.1, read from curvlinops/kfac.py; one batch of N
samples, ``CrossEntropyLoss(reduction="mean")`` on (N, C) logits, ``kfac_approx="expand"``):

* input factor ``aaT`` :math:`=\frac1{NL}\sum_{i,t}a a^\top` — our naive :math:`C_A` (for conv, KFAC-expand
  divides by the number of locations :math:`L`); so :math:`\Omega_{\rm KFC}=L\cdot` ``aaT``;
* gradient factor ``ggT``: curvlinops backpropagates the *mean* loss, :math:`g=\delta_i/N`, and multiplies
  by :math:`N` ("mean" correction :math:`N^2/N`): ``ggT`` :math:`=\frac1N\sum_{i,t}\delta\delta^\top=L\cdot C_\delta`
  (our :math:`C_\delta=\Gamma` averages over locations too). ``fisher_type="empirical"`` ↔ true-label
  :math:`\delta` (EF); ``"type-2"`` ↔ our ``gn_mode="exact"``; ``"mc"`` ↔ our ``gn_mode="mc"``: we draw
  sample :math:`i`'s labels with its own generator seeded ``sample_seed(seed, i)`` (both draw
  ``softmax(f).multinomial(1, generator)``, draw after draw), so curvlinops run on sample :math:`i` alone
  with that seed draws the same labels, and the mean of those one-sample factors equals ours to rounding;
* curvlinops' KFAC is ``ggT`` ⊗ ``aaT`` acting on weight-shaped tensors (``ggT @ M @ aaT``), so
  :math:`v^\top Kv=L\,(u^\top C_\delta u)(w^\top C_Aw)=h^{\rm KFC}_k` for :math:`v=\mathrm{vec}(uw^\top)`;
* ``MSELoss(reduction="mean")`` on (N, C) outputs, per-sample loss :math:`\frac1C\lVert f-t\rVert^2`:
  ``type-2`` ``ggT`` equals our exact GN factor (the loss Hessian :math:`\frac2C I` either way), but
  ``empirical`` ``ggT`` :math:`=C\cdot C_\delta` (curvlinops rescales that loss by :math:`\sqrt C`).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from empirics.kron import collect_layer_io, kron_record
from empirics.kron.likelihood import sample_seed
from tests.cases import ce

pytestmark = pytest.mark.usefixtures("float64_one_thread")

curvlinops = pytest.importorskip("curvlinops")
KFACLinearOperator = curvlinops.KFACLinearOperator

TOL = 1e-8


def model_and_batch():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 2, dilation=1, padding=0), nn.Tanh(),
        nn.Flatten(), nn.Linear(5 * 3 * 3, 6), nn.Tanh(), nn.Linear(6, 5),
    ).eval()  # fmt: skip
    x, y = torch.randn(24, 3, 8, 8), torch.randint(0, 5, (24,))
    return model, x, y


def kfac(model, loss, name, x, y, fisher_type, mc_samples=1, seed=5):
    K = KFACLinearOperator(
        model,
        loss,
        [model.get_submodule(name).weight],
        [(x, y)],
        fisher_type=fisher_type,
        mc_samples=mc_samples,
        check_deterministic=False,
        seed=seed,
    )
    K.compute_kronecker_factors()
    return K, K._input_covariances[name], K._gradient_covariances[name]


def rel(a, b):
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


LAYERS = ["0", "2", "5", "7"]  # conv (stride/padding), conv, dense, head


@pytest.mark.parametrize("name", LAYERS)
def test_empirical_fisher_factors_match_curvlinops(name):
    model, x, y = model_and_batch()
    _, aaT, ggT = kfac(model, nn.CrossEntropyLoss(), name, x, y, "empirical")
    io = collect_layer_io(model, ce, x, y, name, gn_samples=0, chunk_size=10)
    assert rel(io.C_A, aaT) < TOL
    assert rel(io.L * io.C_delta, ggT) < TOL
    if io.L > 1:
        assert rel(io.Omega, io.L * aaT) < TOL


@pytest.mark.parametrize("name", LAYERS)
def test_exact_gn_factor_matches_curvlinops_type2_and_kfac_quadratic_form(name):
    model, x, y = model_and_batch()
    K, aaT, ggT = kfac(model, nn.CrossEntropyLoss(), name, x, y, "type-2")
    io = collect_layer_io(model, ce, x, y, name, gn_samples=1, gn_mode="exact")
    assert rel(io.L * io.C_delta_gn, ggT) < TOL
    U, S, Vh = torch.linalg.svd(io.G, full_matrices=False)
    k = 3
    rec = kron_record(io, S[:k], U[:, :k], Vh[:k].T, None, conv_form="kfc")
    weight_shape = model.get_submodule(name).weight.shape
    for j in range(k):
        v = torch.outer(U[:, j], Vh[j]).reshape(-1)  # row-major vec = the weight's own flattening
        vKv = float(v @ (K @ v))
        assert abs(rec["h_kron_gn"][j] - vKv) <= TOL * abs(vKv)
        if io.L > 1:
            assert abs(rec["forms"]["naive"]["h_kron_gn"][j] * io.L - vKv) <= TOL * abs(vKv)
    assert K.shape[0] == weight_shape.numel()


@pytest.mark.parametrize("name", ["0", "7"])
def test_mc_gn_factor_matches_curvlinops_mc_with_same_samples(name):
    model, x, y = model_and_batch()
    per_sample = [
        kfac(
            model, nn.CrossEntropyLoss(), name, x[i : i + 1], y[i : i + 1], "mc", mc_samples=3, seed=sample_seed(11, i)
        )[2]
        for i in range(len(y))
    ]
    ggT = torch.stack(per_sample).mean(0)
    io = collect_layer_io(model, ce, x, y, name, gn_samples=3, gn_mode="mc", seed=11, chunk_size=7)
    assert rel(io.L * io.C_delta_gn, ggT) < TOL
    other = collect_layer_io(model, ce, x, y, name, gn_samples=3, gn_mode="mc", seed=12)
    assert rel(io.L * other.C_delta_gn, ggT) > 1e-3  # a different seed gives different samples


def test_mse_factors_and_constants():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 4)).eval()
    x, t = torch.randn(30, 6), torch.randn(30, 4)

    def mse(o, tt):  # per-sample loss of MSELoss(reduction="mean"): (1/C) ||f - t||^2
        return (o - tt).pow(2).mean(1)

    for name in ("0", "2"):
        _, aaT, gg_t2 = kfac(model, nn.MSELoss(), name, x, t, "type-2")
        _, _, gg_ef = kfac(model, nn.MSELoss(), name, x, t, "empirical")
        io = collect_layer_io(model, mse, x, t, name, gn_samples=1, gn_mode="exact")
        assert io.gn["likelihood"] == "gaussian" and abs(io.gn["loss_scale"] - 2 / 4) < 1e-14
        assert rel(io.C_A, aaT) < TOL
        assert rel(io.C_delta_gn, gg_t2) < TOL
        assert rel(4 * io.C_delta, gg_ef) < TOL
