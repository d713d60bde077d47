r"""One entry point for the comparison harness: ``build_optimizer(name, model, lr=...)``.

=====================  =================================================================================
name                   optimizer
=====================  =================================================================================
``adamw``              ``torch.optim.AdamW`` on every parameter
``sn``                 :class:`~empirics.optim.spectral_newton.SpectralNewton` (α per layer type by default)
                       + AdamW on non-matrix parameters
``muon``               :class:`~empirics.optim.muon.Muon` (``torch.optim.Muon``'s step, conv weights included)
                       + AdamW on non-matrix parameters
``scalar_beta05/10/15``  App. M: AdamW with :math:`\eta_\ell=\eta_0(s_\ell/\bar s)^{\beta}`, β = 0.5 / 1 / 1.5
``inverse_spectral``   App. M control: exponent −1
``random_perlayer``    App. M control: the β = 1 multipliers in a seeded random layer order
=====================  =================================================================================

``weight_decay`` (default 0.01, torch AdamW's) is decoupled in all of them and is also given to the AdamW
part of ``sn``/``muon``; ``lr`` is the rate of the matrix parameters for ``sn``/``muon`` and :math:`\eta_0` for
the scalar controls. ``adamw_lr`` is the rate of the AdamW part of ``sn``/``muon`` (the biases, norm gains,
embeddings: default :data:`~empirics.optim.hybrid.ADAMW_LR` = 1e-3, **not** ``lr``; pass ``adamw_lr=lr`` for
the coupling of earlier versions) and an error for the other names. Extra keywords go to the optimizer's
constructor (e.g. ``momentum``, ``scale="rms"``, ``adjust_lr_fn``, ``tied_embeddings``, ``routes``,
``betas``, ``mean``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from empirics.optim.hybrid import ADAMW_LR
from empirics.optim.muon import Muon
from empirics.optim.scalar_control import make_scalar_adamw
from empirics.optim.spectral_newton import AlphaSpec, SpectralNewton

__all__ = ["OPTIMIZER_NAMES", "build_optimizer"]

_SCALAR: dict[str, dict[str, Any]] = {
    "scalar_beta05": {"beta": 0.5, "control": "spectral"},
    "scalar_beta10": {"beta": 1.0, "control": "spectral"},
    "scalar_beta15": {"beta": 1.5, "control": "spectral"},
    "inverse_spectral": {"beta": 1.0, "control": "inverse"},
    "random_perlayer": {"beta": 1.0, "control": "random"},
}

#: Every name :func:`build_optimizer` accepts.
OPTIMIZER_NAMES: tuple[str, ...] = ("adamw", "sn", "muon", *_SCALAR)


def build_optimizer(
    name: str,
    model: nn.Module,
    *,
    lr: float,
    weight_decay: float = 0.01,
    seed: int = 0,
    s_by_layer: Mapping[str, float] | None = None,
    alpha: AlphaSpec | None = None,
    damping: float = 0.1,
    adamw_lr: float | None = None,
    **kw: Any,
) -> torch.optim.Optimizer:
    """Build optimizer ``name`` (one of :data:`OPTIMIZER_NAMES`) for ``model``; see the module docstring.

    ``alpha`` (float | ``"layer_type"`` | {layer name: α}; default ``"layer_type"``) and ``damping`` apply to
    ``sn`` only; ``s_by_layer`` (module name → measured :math:`s_\\ell=\\alpha_\\ell\\gamma_\\ell`) is required by the
    scalar controls; ``seed`` drives ``random_perlayer``; ``adamw_lr`` (default 1e-3) applies to ``sn``/``muon``.
    """
    if name not in OPTIMIZER_NAMES:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZER_NAMES)}")
    if alpha is not None and name != "sn":
        raise ValueError(f"alpha applies to 'sn' only, not to {name!r}")
    if adamw_lr is not None and name not in ("sn", "muon"):
        raise ValueError(f"adamw_lr applies to 'sn' and 'muon' only (their AdamW part), not to {name!r}; use lr")
    hybrid_adamw_lr = ADAMW_LR if adamw_lr is None else adamw_lr
    try:
        if name == "adamw":
            return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, **kw)
        if name == "sn":
            return SpectralNewton(
                model,
                lr,
                alpha="layer_type" if alpha is None else alpha,
                damping=damping,
                weight_decay=weight_decay,
                adamw_lr=hybrid_adamw_lr,
                **kw,
            )
        if name == "muon":
            return Muon(model, lr, weight_decay=weight_decay, adamw_lr=hybrid_adamw_lr, **kw)
        if s_by_layer is None:
            raise ValueError(f"optimizer {name!r} needs s_by_layer (module name -> measured s = alpha*gamma)")
        return make_scalar_adamw(model, lr, s_by_layer, seed=seed, weight_decay=weight_decay, **_SCALAR[name], **kw)
    except TypeError as exc:
        raise ValueError(f"optimizer {name!r}: {exc}") from None
