"""SpectralNewton: one step by hand (Linear and Conv2d), momentum, weight decay, per-layer α, the AdamW part,
the rms scale, non-finite gradients, state dicts, schedulers, and a few training steps on every zoo family."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from empirics.optim import ALPHA_BY_LAYER_TYPE, SpectralNewton, build_optimizer
from empirics.zoo import MODEL_NAMES, build_model, layer_table
from tests.cases import TINY_ZOO as TINY
from theory.spectral_newton import sn_update

pytestmark = pytest.mark.usefixtures("float64_one_thread")


class Net(nn.Module):
    """Conv2d (with bias) → BatchNorm → Linear (with bias): two matrix weights, four other parameters."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def _net(seed=0):
    torch.manual_seed(seed)
    return Net()


def _set_grads(model, seed):
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g)


def _T(U: torch.Tensor, alpha: float, d: float) -> torch.Tensor:
    """The SVD definition (numpy) of ΔW on the row-major matrix view, reshaped back."""
    return torch.from_numpy(sn_update(U.reshape(U.shape[0], -1).numpy(), alpha, d)).reshape(U.shape)


@pytest.mark.parametrize("nesterov", [True, False])
def test_one_step_on_linear_and_conv_is_w_minus_lr_T_of_the_momentum(nesterov):
    model = _net()
    w0 = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = SpectralNewton(model, lr=0.3, alpha=2.0, damping=0.1, momentum=0.9, nesterov=nesterov, weight_decay=0.5)
    assert [g["name"] for g in opt.matrix_groups] == ["conv.weight", "fc.weight"]
    _set_grads(model, 1)
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    opt.step()
    for name in ("conv.weight", "fc.weight"):
        g = grads[name]
        buf = 0.1 * g
        U = 0.1 * g + 0.9 * buf if nesterov else buf
        expected = w0[name] * (1 - 0.3 * 0.5) - 0.3 * _T(U, 2.0, 0.1)
        torch.testing.assert_close(dict(model.named_parameters())[name].detach(), expected, rtol=0, atol=1e-13)
    # conv: the update was computed on the 4 × 27 row-major view and reshaped back
    assert dict(model.named_parameters())["conv.weight"].shape == (4, 3, 3, 3)


def test_momentum_is_an_ema_over_two_steps_and_zero_momentum_is_the_gradient():
    for mu, nesterov in [(0.8, False), (0.8, True), (0.0, False)]:
        model = _net()
        w = model.fc.weight.detach().clone()
        opt = SpectralNewton(model, lr=0.1, alpha=1.3, momentum=mu, nesterov=nesterov)
        buf = torch.zeros_like(w)
        for seed in (2, 3):
            _set_grads(model, seed)
            g = model.fc.weight.grad.clone()
            opt.step()
            buf = mu * buf + (1 - mu) * g
            U = (1 - mu) * g + mu * buf if nesterov else buf
            w = w - 0.1 * _T(U, 1.3, 0.1)
            torch.testing.assert_close(model.fc.weight.detach(), w, rtol=0, atol=1e-12)


def test_weight_decay_is_decoupled_and_acts_alone_on_a_zero_gradient():
    model = _net()
    w = model.conv.weight.detach().clone()
    opt = SpectralNewton(model, lr=0.2, weight_decay=0.25)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    torch.testing.assert_close(model.conv.weight.detach(), w * (1 - 0.2 * 0.25), rtol=0, atol=0)


def test_rank_deficient_gradient_from_a_batch_of_one():
    model = _net()
    w = model.fc.weight.detach().clone()
    opt = SpectralNewton(model, lr=0.5, alpha=2.0, momentum=0.0)
    model(torch.randn(1, 3, 6, 6)).sum().backward()  # fc gradient = δ aᵀ: rank one (BN in train mode)
    g = model.fc.weight.grad.clone()
    assert torch.linalg.matrix_rank(g).item() <= 1
    opt.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    torch.testing.assert_close(model.fc.weight.detach(), w - 0.5 * _T(g, 2.0, 0.1), rtol=0, atol=1e-13)


def test_alpha_by_layer_type_and_by_dict():
    vit = build_model("vit_tiny", num_classes=5, image_size=16, **TINY["vit_tiny"])
    table = layer_table(vit)
    opt = SpectralNewton.for_model(vit, lr=0.01)
    for g in opt.matrix_groups:
        module = g["name"].removesuffix(".weight")
        assert g["layer_type"] == table[module] and g["alpha"] == ALPHA_BY_LAYER_TYPE[table[module]]
    assert {g["alpha"] for g in opt.matrix_groups} == {2.0, 1.43, 1.17, 0.84, 1.15, 1.44}
    # embeddings and cls token are not matrix parameters
    adamw_names = {g["name"] for g in opt.adamw.param_groups}
    assert {"pos_embed", "cls_token"} <= adamw_names and "patch_embed.proj.bias" in adamw_names
    measured = {"blocks.0.mlp.up": 0.5, "head.weight": 3.0}
    opt = SpectralNewton(vit, alpha=measured)
    assert opt.alphas["blocks.0.mlp.up.weight"] == 0.5 and opt.alphas["head.weight"] == 3.0
    assert opt.alphas["blocks.1.mlp.up.weight"] == ALPHA_BY_LAYER_TYPE["mlp_up"]  # fallback: the type table
    with pytest.raises(ValueError, match="alpha dict names no matrix parameter: blocks.9.mlp.up"):
        SpectralNewton(vit, alpha={"blocks.9.mlp.up": 1.0})
    with pytest.raises(ValueError, match="'layer_type' or a dict"):
        SpectralNewton(vit, alpha="median")


def test_the_per_layer_alpha_is_the_one_used_in_the_step():
    model = _net()
    w = model.fc.weight.detach().clone()
    opt = SpectralNewton(model, lr=0.1, alpha={"fc": 0.8}, momentum=0.0)
    assert opt.alphas == {"conv.weight": 2.0, "fc.weight": 0.8}
    _set_grads(model, 4)
    g = model.fc.weight.grad.clone()
    opt.step()
    torch.testing.assert_close(model.fc.weight.detach(), w - 0.1 * _T(g, 0.8, 0.1), rtol=0, atol=1e-12)


def test_non_matrix_parameters_follow_adamw_exactly():
    model = _net()
    twin = copy.deepcopy(model)
    opt = SpectralNewton(model, lr=0.05, weight_decay=0.1, adamw_lr=3e-3, adamw_betas=(0.8, 0.99), adamw_eps=1e-6)
    others = [p for n, p in twin.named_parameters() if n not in ("conv.weight", "fc.weight")]
    ref = torch.optim.AdamW(others, lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    for seed in range(4):
        _set_grads(model, seed)
        _set_grads(twin, seed)
        opt.step()
        ref.step()
    for (n, p), q in zip(model.named_parameters(), twin.parameters(), strict=True):
        if n not in ("conv.weight", "fc.weight"):
            assert torch.equal(p, q), n


def test_the_adamw_part_has_its_own_learning_rate_default_1e_3():
    from empirics.optim import ADAMW_LR

    assert ADAMW_LR == 1e-3
    for lr in (0.02, 0.5):
        opt = SpectralNewton(_net(), lr=lr)
        assert [g["lr"] for g in opt.param_groups] == [lr, lr] + [1e-3] * 4
    opt = build_optimizer("sn", _net(), lr=0.05)
    assert {g["lr"] for g in opt.adamw.param_groups} == {1e-3}
    opt = build_optimizer("sn", _net(), lr=0.05, adamw_lr=0.05)  # the coupling of earlier versions, explicitly
    assert {g["lr"] for g in opt.param_groups} == {0.05}
    with pytest.raises(ValueError, match="pass adamw_lr=lr for the old coupling"):
        SpectralNewton(_net(), adamw_lr=None)


def test_batched_same_shape_layers_equal_one_at_a_time():
    model = nn.Sequential(*[nn.Linear(6, 6) for _ in range(4)], nn.Linear(6, 3))
    twin = copy.deepcopy(model)
    a = SpectralNewton(model, lr=0.1, alpha=2.0)
    b = SpectralNewton(twin, lr=0.1, alpha=2.0, batch_same_shape=False)
    for seed in range(3):
        _set_grads(model, seed)
        _set_grads(twin, seed)
        a.step()
        b.step()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-13)


def test_rms_scale_sets_the_update_rms():
    model = _net()
    w = model.conv.weight.detach().clone()
    opt = SpectralNewton(model, lr=0.1, scale="rms", rms_target=0.2, momentum=0.0)
    _set_grads(model, 5)
    opt.step()
    delta = (w - model.conv.weight.detach()) / 0.1
    assert math.isclose(delta.pow(2).mean().sqrt().item(), 0.2, rel_tol=1e-12)
    # direction unchanged: proportional to T(g)
    T = _T(model.conv.weight.grad, 2.0, 0.1)
    torch.testing.assert_close(delta / delta.norm(), T / T.norm(), rtol=0, atol=1e-12)


def test_nonfinite_gradients_raise_or_skip_and_count():
    model = _net()
    opt = SpectralNewton(model, lr=0.1)
    _set_grads(model, 6)
    model.fc.weight.grad[0, 0] = float("nan")
    model.bn.bias.grad[0] = float("inf")
    with pytest.raises(FloatingPointError, match="non-finite gradient in fc.weight, bn.bias"):
        opt.step()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = SpectralNewton(model, lr=0.1, nonfinite="skip")
    opt.step()
    assert opt.nonfinite_skips == 1 and not opt.state and not opt.adamw.state
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())


def test_state_dict_round_trip_and_scheduler_drive_both_parts():
    model = _net()
    opt = SpectralNewton(model, lr=0.1, adamw_lr=0.01)
    for seed in range(2):
        _set_grads(model, seed)
        opt.step()
    twin = copy.deepcopy(model)
    opt2 = SpectralNewton(twin, lr=0.7, adamw_lr=0.5)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]
    assert opt2.param_groups[-1] is opt2.adamw.param_groups[-1]
    sched = torch.optim.lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
    sched1 = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for seed in (7, 8):
        _set_grads(model, seed)
        _set_grads(twin, seed)
        opt.step()
        opt2.step()
        sched.step()
        sched1.step()
    assert [g["lr"] for g in opt2.param_groups] == [0.025, 0.025] + [0.0025] * 4
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-14)


def test_bad_arguments():
    model = _net()
    for kw, msg in [
        ({"damping": 0.0}, "damping d must be > 0"),
        ({"momentum": 1.0}, "momentum"),
        ({"scale": "muon"}, "scale must be one of none, rms"),
        ({"method": "polar"}, "method must be one of"),
        ({"alpha": 1.0, "method": "cholesky"}, "needs alpha = 2"),
        ({"nonfinite": "warn"}, "nonfinite must be one of"),
    ]:
        with pytest.raises(ValueError, match=msg):
            SpectralNewton(model, **kw)


def _batch(name):
    g = torch.Generator().manual_seed(0)
    if name.startswith("gpt2"):
        x = torch.randint(0, 256, (4, 8), generator=g)
        return x, torch.roll(x, -1, dims=1)
    return torch.randn(8, 3, 16, 16, generator=g), torch.randint(0, 5, (8,), generator=g)


def _loss(out, y):
    return nn.functional.cross_entropy(out.flatten(0, -2), y.flatten())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_few_steps_on_every_zoo_family_stay_finite_and_lower_the_loss(name):
    """Fixed batch, train mode, float32, α per layer type; VGG without dropout so that the loss is deterministic."""
    torch.set_default_dtype(torch.float32)
    size = {**TINY[name], **({"dropout": 0.0} if name == "vgg11" else {})}
    model = build_model(name, num_classes=5, image_size=16, **size)
    opt = build_optimizer("sn", model, lr=0.02, adamw_lr=3e-3, weight_decay=0.0)
    x, y = _batch(name)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = _loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(np.isfinite(losses)) and all(torch.isfinite(p).all() for p in model.parameters())
    assert np.mean(losses[-3:]) < losses[0], losses


def test_models_with_only_one_kind_of_parameter_and_no_late_groups():
    norm_only = nn.Sequential(nn.LayerNorm(4))
    opt = SpectralNewton(norm_only, lr=0.1)
    assert opt.matrix_groups == [] and len(opt.param_groups) == 2
    norm_only(torch.randn(2, 4)).sum().backward()
    opt.step()
    opt.load_state_dict(opt.state_dict())
    lin = nn.Linear(3, 2, bias=False)
    opt = SpectralNewton(lin, lr=0.1)
    assert opt.adamw is None and len(opt.param_groups) == 1
    lin(torch.randn(2, 3)).sum().backward()
    opt.step()
    opt.load_state_dict(opt.state_dict())
    with pytest.raises(NotImplementedError, match="add_param_group"):
        opt.add_param_group({"params": [torch.zeros(2, requires_grad=True)]})
    with pytest.raises(ValueError, match="no trainable parameters"):
        SpectralNewton(nn.Sequential(nn.ReLU()))
