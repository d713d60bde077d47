r"""From the user's loss (mean reduction) to the engine's per-sample losses :math:`\ell_i`.

The engine differentiates :math:`\mathcal L=\frac1B\sum_i\ell_i` and needs the :math:`\ell_i` themselves
(per-sample errors for the Kronecker factors, one global mean under ``torch.distributed``). A user passes
the loss as they train with it: a torch loss module or a callable ``loss(output, target)`` with its usual
mean reduction. :func:`per_sample_loss` derives :math:`\ell_i` in one of two ways:

* ``reduction``: a loss module with a ``reduction`` attribute is copied with ``reduction="none"`` and its
  elementwise losses are averaged over every non-batch dimension, :math:`\ell_i=\mathrm{mean}_j\,l_{ij}`;
* ``vmap``: otherwise the loss is evaluated on each sample as a batch of one, ``vmap`` over the batch:
  :math:`\ell_i=\mathrm{loss}(f_i[\,\mathrm{None}],t_i[\,\mathrm{None}])`.

Either way :math:`\frac1B\sum_i\ell_i` must equal ``loss(output, target)`` on the measured batch; that is
checked once (relative tolerance :data:`AGREEMENT_RTOL` per dtype) and a loss whose mean is not a mean of
per-sample terms (``ignore_index`` with masked tokens, class weights) is refused with a message naming
the ``loss`` argument. ``per_sample=True`` declares that ``loss`` already returns :math:`(\ell_i)_i`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import vmap

__all__ = ["PerSampleLoss", "per_sample_loss", "AGREEMENT_RTOL", "LossMismatch"]

#: relative agreement of mean(ℓ_i) with the user's loss, per dtype
AGREEMENT_RTOL = {torch.float64: 1e-10, torch.float32: 1e-5}


class LossMismatch(ValueError):
    """The loss is not the mean of per-sample terms on this batch."""


@dataclass(frozen=True)
class PerSampleLoss:
    """``(output, target) -> (B,)`` per-sample losses; ``how`` is ``reduction``, ``vmap`` or ``given``."""

    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    how: str
    name: str

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        r"""The per-sample losses :math:`\ell_i` of a batch, shape ``(B,)``."""
        return self.fn(output, target)


def _name(loss) -> str:
    if isinstance(loss, nn.Module):
        return type(loss).__name__
    return getattr(loss, "__name__", type(loss).__name__).lstrip("_")


def _by_reduction(loss: nn.Module) -> Callable:
    none = copy.copy(loss)
    none.reduction = "none"  # type: ignore[assignment]

    def fn(output, target):
        l_ = none(output, target)
        return l_.reshape(l_.shape[0], -1).mean(1) if l_.dim() > 1 else l_

    return fn


def _by_vmap(loss: Callable) -> Callable:
    def one(o, t):
        return loss(o.unsqueeze(0), t.unsqueeze(0))

    batched = vmap(one)

    def fn(output, target):
        return batched(output, target).reshape(output.shape[0])

    return fn


def _agrees(fn: Callable, loss: Callable, output, target) -> tuple[bool, str]:
    try:
        per = fn(output, target)
        ref = loss(output, target)
    except Exception as exc:  # noqa: BLE001 - any failure means this derivation does not apply
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    if per.dim() != 1 or per.shape[0] != output.shape[0]:
        return False, f"gives shape {tuple(per.shape)}, not ({output.shape[0]},)"
    if not isinstance(ref, torch.Tensor) or ref.numel() != 1:
        return False, "the loss does not return a scalar (pass per_sample=True if it returns per-sample losses)"
    rtol = AGREEMENT_RTOL.get(per.dtype, 1e-5)
    diff = float((per.mean() - ref.reshape(())).abs())
    scale = max(float(ref.abs()), 1e-300)
    if diff > rtol * scale:
        return False, f"mean of per-sample terms {float(per.mean()):.6g} != loss {float(ref):.6g}"
    return True, ""


def per_sample_loss(loss, output: torch.Tensor, target: torch.Tensor, *, per_sample: bool = False) -> PerSampleLoss:
    """The per-sample form of ``loss`` (see the module doc), checked on ``(output, target)``; raises
    :class:`LossMismatch` naming the ``loss`` argument when no derivation reproduces it."""
    if not callable(loss):
        raise TypeError(f"loss: expected a torch loss module or a callable(output, target), got {type(loss).__name__}")
    name = _name(loss)
    if per_sample:
        with torch.no_grad():
            got = loss(output, target)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (output.shape[0],):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise LossMismatch(f"loss: per_sample=True but it returns {shape}, not ({output.shape[0]},)")
        return PerSampleLoss(loss, "given", name)
    reasons = []
    candidates: list[tuple[str, Callable]] = []
    if isinstance(loss, nn.Module) and isinstance(getattr(loss, "reduction", None), str):
        if loss.reduction != "mean":
            raise LossMismatch(
                f"loss: {name} has reduction={loss.reduction!r}; pass it with reduction='mean' (the engine derives "
                "per-sample terms itself), or per_sample=True with reduction='none' on a (B,) output"
            )
        candidates.append(("reduction", _by_reduction(loss)))
    candidates.append(("vmap", _by_vmap(loss)))
    with torch.no_grad():
        for how, fn in candidates:
            ok, why = _agrees(fn, loss, output, target)
            if ok:
                return PerSampleLoss(fn, how, name)
            reasons.append(f"{how}: {why}")
    raise LossMismatch(
        f"loss: {name} on this batch is not the mean of per-sample terms ({'; '.join(reasons)}); pass a loss whose "
        "value is the mean over samples, or per_sample=True with a callable returning (B,) per-sample losses"
    )
