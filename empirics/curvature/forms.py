r"""Module rewrites into *exact forms*: the same function, computed through ops whose forward-mode and
second derivatives are right (and fast) under ``torch.func``.

Within :func:`exact_forms`:

* every eval-mode BatchNorm computes its eval formula in affine form, :math:`y=x\,s+t` with
  :math:`s=\gamma/\sqrt{\hat\sigma^2+\epsilon}`, :math:`t=\beta-\hat\mu s` (speed: a multiply and an add
  instead of the generic batch-norm rules that ``vmap`` expands over every direction);
* every ``nn.LayerNorm``, and ``F.layer_norm`` itself, computes :math:`(x-\mu)/\sqrt{\mathrm{var}+\epsilon}
  \cdot\gamma+\beta` (biased variance). Correctness: torch's fused ``layer_norm`` gives wrong second
  derivatives under nested ``jvp`` (tests/empirics/test_curvature.py documents it). With
  ``fused_layer_norm`` both compute through torch's fused op instead (for ``fwd_adj``, which differentiates it
  once by autograd and carries its tangents by its own rule);
* ``F.group_norm`` likewise through elementary ops (the fused kernel's batching rule breaks under nested
  transforms);
* ``F.scaled_dot_product_attention`` computes :math:`\mathrm{softmax}(QK^\top/\sqrt d+M)V` explicitly (the
  fused CPU/flash kernels have no forward AD and no double backward), and ``nn.MultiheadAttention``'s fused
  fast path is switched off (``torch.backends.mha``).

Everything is restored on exit. The function attributes are swapped module-wide: do not run other torch
code in other threads meanwhile.
"""

from __future__ import annotations

import contextlib
import math
import types
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["exact_forms", "structure", "explicit_layer_norm", "explicit_group_norm", "explicit_sdpa"]


def structure(model: nn.Module) -> tuple:
    """What decides which ops a forward runs: module names, types, modes and patched forwards."""
    return tuple((n, type(m), m.training, m.__dict__.get("forward") is not None) for n, m in model.named_modules())


def explicit_layer_norm(x: torch.Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> torch.Tensor:
    """``F.layer_norm`` through elementary ops (biased variance over the trailing ``normalized_shape``)."""
    n = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    dims = tuple(range(-n, 0))
    mu = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, unbiased=False, keepdim=True)
    y = (x - mu) / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def explicit_group_norm(x: torch.Tensor, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> torch.Tensor:
    """``F.group_norm`` through elementary ops: statistics per sample over each group of channels."""
    b, c = x.shape[0], x.shape[1]
    xg = x.reshape(b, num_groups, -1)
    mu = xg.mean(dim=-1, keepdim=True)
    var = xg.var(dim=-1, unbiased=False, keepdim=True)
    y = ((xg - mu) / torch.sqrt(var + eps)).reshape(x.shape)
    shape = (1, c) + (1,) * (x.dim() - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def explicit_sdpa(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> torch.Tensor:
    r""":math:`\mathrm{softmax}(QK^\top\cdot\mathrm{scale}+M)V` through elementary ops (the math path of
    ``F.scaled_dot_product_attention``); dropout must be 0 (the engine measures in eval mode)."""
    if dropout_p:
        raise ValueError("scaled_dot_product_attention with dropout_p > 0: measure the model in eval mode")
    L, S = query.shape[-2], key.shape[-2]
    if enable_gqa and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key, value = key.repeat_interleave(rep, -3), value.repeat_interleave(rep, -3)
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query @ key.transpose(-2, -1) * s
    if is_causal:
        causal = torch.ones(L, S, dtype=torch.bool, device=query.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    return torch.softmax(scores, dim=-1) @ value


def _explicit_layer_norm_forward(self, x: torch.Tensor) -> torch.Tensor:
    return explicit_layer_norm(x, self.normalized_shape, self.weight, getattr(self, "bias", None), self.eps)


def _fused_layer_norm_forward(self, x: torch.Tensor) -> torch.Tensor:
    return _TORCH_LAYER_NORM(x, self.normalized_shape, self.weight, getattr(self, "bias", None), self.eps)


def _explicit_group_norm_forward(self, x: torch.Tensor) -> torch.Tensor:
    return explicit_group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


def _affine_bn_forward(self, x: torch.Tensor) -> torch.Tensor:
    shape = (1, -1) + (1,) * (x.dim() - 2)
    scale = torch.rsqrt(self.running_var + self.eps)
    if self.weight is not None:
        scale = scale * self.weight
    shift = -self.running_mean * scale
    if self.bias is not None:
        shift = shift + self.bias
    return torch.addcmul(shift.reshape(shape), x, scale.reshape(shape))  # one op: cheaper vmapped jvp than x*s+t


#: torch's own (fused) layer norm, whatever :func:`exact_forms` has swapped in meanwhile
_TORCH_LAYER_NORM = F.layer_norm


@contextlib.contextmanager
def exact_forms(model: nn.Module, *, fused_layer_norm: bool = False) -> Iterator[None]:
    """Within the block the model computes the same function through the exact forms of the module doc.
    ``fused_layer_norm``: every ``nn.LayerNorm`` (subclasses' own forwards too) and ``F.layer_norm`` compute
    through torch's fused ``native_layer_norm`` instead — one op, for a method that differentiates it only
    once by autograd and has its own rule for its tangents (``fwd_adj``)."""
    ln_forward = _fused_layer_norm_forward if fused_layer_norm else _explicit_layer_norm_forward
    patched: list[tuple[nn.Module, object]] = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not m.training and m.running_var is not None:
            patched.append((m, m.__dict__.get("forward")))
            m.forward = types.MethodType(_affine_bn_forward, m)  # type: ignore[method-assign]
        elif isinstance(m, nn.LayerNorm):
            patched.append((m, m.__dict__.get("forward")))
            m.forward = types.MethodType(ln_forward, m)  # type: ignore[method-assign]
        elif isinstance(m, nn.GroupNorm):
            patched.append((m, m.__dict__.get("forward")))
            m.forward = types.MethodType(_explicit_group_norm_forward, m)  # type: ignore[method-assign]
    swaps = {
        "layer_norm": _TORCH_LAYER_NORM if fused_layer_norm else explicit_layer_norm,
        "group_norm": explicit_group_norm,
        "scaled_dot_product_attention": explicit_sdpa,
    }
    originals = {name: getattr(F, name) for name in swaps}
    mha = getattr(torch.backends, "mha", None)
    fastpath = mha.get_fastpath_enabled() if mha is not None else None
    for name, fn in swaps.items():
        setattr(F, name, fn)
    if mha is not None:
        mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        for name, fn in originals.items():
            setattr(F, name, fn)
        if mha is not None and fastpath is not None:
            mha.set_fastpath_enabled(fastpath)
        for m, previous in patched:
            if previous is None:
                del m.forward
            else:
                m.forward = previous  # type: ignore[method-assign,assignment]
