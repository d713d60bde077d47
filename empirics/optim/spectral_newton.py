r"""Spectral Newton (SN) as a ``torch.optim.Optimizer`` (docs/theory-reference.md §"Transfer function", §3.12, G18).

For every matrix parameter :math:`W` (:math:`m\times n` = outputs × inputs, read through
:func:`~empirics.optim.matrix_view.matrix_view`: a conv weight row-major as :math:`c_{\rm out}\times
c_{\rm in}k_hk_w`, a grouped conv as one such block per group, an HF ``Conv1D`` transposed) with gradient
:math:`g_t`, one step is

.. math::

    M_t &= \mu M_{t-1} + (1-\mu)\,g_t, \qquad
    U_t = \begin{cases}(1-\mu)\,g_t+\mu M_t & \text{nesterov}\\ M_t & \text{heavy ball}\end{cases}\\
    \Delta_t &= \sum_k T(\sigma_k;\alpha_\ell)\,u_kw_k^\top \ \text{ for } U_t=\sum_k\sigma_ku_kw_k^\top,
    \qquad T(\sigma;\alpha)=\frac{\sigma}{\sigma^\alpha+d}\\
    W_t &= (1-\eta\lambda)\,W_{t-1} - \eta\,s(\Delta_t)\,\Delta_t,

computed without an SVD (:mod:`empirics.optim.transfer`: a Cholesky solve on the smaller Gram side for
:math:`\alpha=2`, an eigendecomposition of the smaller Gram matrix otherwise), in float32 for float32,
bfloat16 and float16 weights (float64 for float64), with the momentum buffer in float32 (``momentum_dtype``)
and the new weight rounded to the weight's dtype once. Every other parameter (biases, norm gains,
embedding tables, an embedding-tied output head unless ``tied_embeddings="matrix"``) is updated by an
internal ``torch.optim.AdamW`` at its own ``adamw_lr`` (default 1e-3); the routing rule, the dtypes and the
AdamW part are :mod:`empirics.optim.hybrid`'s.

**What the paper fixes** [TEX]: :math:`T`, :math:`d=0.1`, :math:`\alpha=2` for conv layers ("SN"), per-layer
:math:`\alpha` from Table 1 for transformers (:math:`\alpha\approx1\Rightarrow T=\sigma/(\sigma+d)`), and
"matrix-function recovery after polar decomposition" at about 1.8× Muon's cost.

**What it leaves open (G18) and the choices made here** (all are arguments):

* *sign*: :math:`W\leftarrow W-\eta\Delta` (descent);
* *learning rate* :math:`\eta`: no default in the paper; ``lr=0.02`` here (Muon's usual value). Note that
  for :math:`\sigma\ll d^{1/\alpha}`, :math:`T\approx\sigma/d`, i.e. SN acts like SGD with learning rate
  :math:`\eta/d=10\eta` on those directions;
* *momentum*: Muon's convention — an exponential moving average :math:`\mu=0.95`, Nesterov on
  (``torch.optim.Muon``'s ``lerp`` form). The EMA keeps :math:`U_t` on the gradient's scale, which is the
  scale on which :math:`d=0.1` is stated; ``momentum=0`` gives :math:`U_t=g_t`;
* *weight decay*: decoupled, :math:`W\leftarrow(1-\eta\lambda)W`, with ``weight_decay=0`` by default;
* *scale* :math:`s(\Delta)`: ``scale="none"`` (default, the paper's formula: :math:`s=1`), or ``"rms"``:
  :math:`s=\rho\sqrt{mn}/\lVert\Delta\rVert_F` so every layer's update has RMS :math:`\rho` (``rms_target``, default
  0.2 as in Moonshot's AdamW-matched Muon), making one ``lr`` usable across layer shapes;
* *loss-scale invariance*: :math:`T` is a 1-D Newton step :math:`\sigma/(c\sigma^\alpha+d)` with the prefactor
  :math:`c` dropped (§3.12 vii). With ``scale="none"`` the step is **not** invariant to rescaling the loss
  (:math:`T(\kappa\sigma)\ne\kappa^{p}T(\sigma)`); ``scale="rms"`` makes its size invariant, but the *shape*
  of :math:`T` still depends on :math:`\sigma^\alpha/d`, i.e. on the loss scale, because :math:`d` is absolute;
* *how often / re-estimating* :math:`\alpha`: every step, with a fixed per-layer :math:`\alpha`;
* *which parameters*: every Linear/Conv weight including the classifier head; embeddings go to AdamW, and
  so does a head whose weight *is* the embedding table (a tied tensor is optimised once);
* *non-finite gradients*: ``nonfinite="raise"`` (default) or ``"skip"`` (skip-and-count), see
  :mod:`empirics.optim.hybrid`.

Per-layer :math:`\alpha` (``alpha=``): a float for every layer; ``"layer_type"`` (:data:`ALPHA_BY_LAYER_TYPE`);
or a dict ``{module or parameter name: α}`` (e.g. measured values), where layers missing from the dict fall
back to the layer-type table (unknown type: :data:`DEFAULT_ALPHA`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from empirics.optim.hybrid import ADAMW_LR, HybridOptimizer
from empirics.optim.routing import MatrixParam, NamedParams, split_parameters
from empirics.optim.transfer import METHODS, sn_direction

__all__ = ["ALPHA_BY_LAYER_TYPE", "DEFAULT_ALPHA", "SCALES", "SpectralNewton", "resolve_alpha"]

#: α for a layer of unknown type, and the paper's "SN" member.
DEFAULT_ALPHA = 2.0

#: Per-layer-type α (keys: :data:`empirics.schema.LAYER_TYPES`). Sources, all printed means (the paper
#: prints no medians):
#:
#: * conv, downsample: 2 — the paper's SN member; Table 1 conv means 1.94 (ResNet-50 Tiny-ImageNet),
#:   2.10 (ImageNet-1K), 1.97–2.17 (ResNet-18 / VGG-11, CIFAR-10);
#: * patch_embed: 2 — a convolution; never measured in the paper [SILENT];
#: * dense: 2 — Table 1 pure-MLP dense mean 2.18, rounded to the SN member (keeps the Cholesky route);
#: * head: 1.44 — midpoint of Table 1's CIFAR-10 FC range 1.23–1.65 (Table 1's GPT-2 head 4.53 contradicts
#:   App. H's 2.02, G21, and is not used);
#: * attn_qkv 1.43, attn_proj 1.17, mlp_up 0.84, mlp_down 1.15 — Table 2's GPT-2 per-type means (Table 1
#:   pools them: attention 1.30, MLP 1.00; the text: "α ≈ 1 suggests σ/(σ+d) for transformers").
ALPHA_BY_LAYER_TYPE: dict[str, float] = {
    "conv": 2.0,
    "downsample": 2.0,
    "patch_embed": 2.0,
    "dense": 2.0,
    "head": 1.44,
    "attn_qkv": 1.43,
    "attn_proj": 1.17,
    "mlp_up": 0.84,
    "mlp_down": 1.15,
}

#: Update scales: ``none`` (the paper's ΔW) or ``rms`` (ΔW rescaled to RMS ``rms_target``).
SCALES = ("none", "rms")

AlphaSpec = float | str | Mapping[str, float]


def resolve_alpha(mp: MatrixParam, alpha: AlphaSpec) -> float:
    """α of one matrix parameter under ``alpha`` (float | ``"layer_type"`` | {name: α}); see the module doc."""
    if isinstance(alpha, str):
        if alpha != "layer_type":
            raise ValueError(f"alpha must be a number, 'layer_type' or a dict name -> alpha, got {alpha!r}")
        value = ALPHA_BY_LAYER_TYPE.get(mp.layer_type or "", DEFAULT_ALPHA)
    elif isinstance(alpha, Mapping):
        key = next((k for k in (mp.module, mp.name, *mp.aliases) if k is not None and k in alpha), None)
        value = alpha[key] if key is not None else ALPHA_BY_LAYER_TYPE.get(mp.layer_type or "", DEFAULT_ALPHA)
    else:
        value = alpha
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"alpha of {mp.name} must be a finite number >= 0, got {value!r}")
    return value


class SpectralNewton(HybridOptimizer):
    r"""Spectral Newton on matrix parameters + AdamW on the rest (see the module docstring for the math).

    Args:
        params: a model (names and layer types are then known) or ``(name, parameter)`` pairs.
        lr: :math:`\eta` for the matrix parameters.
        alpha: float, ``"layer_type"`` or ``{module or parameter name: α}``.
        damping: :math:`d>0` (paper: 0.1).
        momentum, nesterov: EMA coefficient :math:`\mu` and Nesterov flag (Muon's convention).
        weight_decay: decoupled weight decay :math:`\lambda` of the matrix parameters.
        scale, rms_target: ``"none"`` (paper) or ``"rms"`` (update RMS = ``rms_target``).
        method: transfer route, one of :data:`empirics.optim.transfer.METHODS` (``auto``: Cholesky for α = 2).
        layer_types: module name → layer type, overriding the model's table.
        tied_embeddings: ``"adamw"`` (default) or ``"matrix"`` — where an embedding-tied weight goes.
        routes: ``{parameter name: "adamw" | "matrix"}``, deciding before the default rule.
        batch_same_shape: batch the linear algebra of layers with the same shape and α.
        adamw_lr: learning rate of the AdamW part (default :data:`~empirics.optim.hybrid.ADAMW_LR` = 1e-3,
            independent of ``lr``).
        adamw_betas, adamw_eps, adamw_weight_decay: the AdamW part (defaults: torch's betas/eps,
            ``weight_decay``).
        momentum_dtype: dtype of the momentum buffer (default: float32, float64 for float64 weights).
        nonfinite: ``"raise"`` | ``"skip"`` | ``"ignore"``.

    Each matrix group carries ``name``, ``layer_type`` and its ``alpha``; ``optimizer.alphas`` maps
    parameter names to α.
    """

    kind = "spectral_newton"

    def __init__(
        self,
        params: NamedParams,
        lr: float = 0.02,
        *,
        alpha: AlphaSpec = DEFAULT_ALPHA,
        damping: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        weight_decay: float = 0.0,
        scale: str = "none",
        rms_target: float = 0.2,
        method: str = "auto",
        layer_types: dict[str, str] | None = None,
        tied_embeddings: str = "adamw",
        routes: Mapping[str, str] | None = None,
        batch_same_shape: bool = True,
        adamw_lr: float = ADAMW_LR,
        adamw_betas: tuple[float, float] = (0.9, 0.999),
        adamw_eps: float = 1e-8,
        adamw_weight_decay: float | None = None,
        momentum_dtype: torch.dtype | None = None,
        nonfinite: str = "raise",
    ) -> None:
        if not (lr >= 0):
            raise ValueError(f"lr must be >= 0, got {lr}")
        if not (math.isfinite(damping) and damping > 0):
            raise ValueError(f"damping d must be > 0 (the paper's d = 0.1), got {damping}")
        if not (0 <= momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        split = split_parameters(params, layer_types, tied_embeddings=tied_embeddings, routes=routes)
        mats = split.matrix
        if isinstance(alpha, Mapping):
            known = (
                {mp.name for mp in mats}
                | {mp.module for mp in mats if mp.module}
                | {a for mp in mats for a in mp.aliases}
            )
            unknown = sorted(set(alpha) - known)
            if unknown:
                raise ValueError(
                    f"alpha dict names no matrix parameter: {', '.join(unknown)}; "
                    f"valid: {', '.join(mp.module or mp.name for mp in mats)}"
                )
        groups = []
        for mp in mats:
            a = resolve_alpha(mp, alpha)
            if method == "cholesky" and a != 2:
                raise ValueError(f"method 'cholesky' needs alpha = 2, but {mp.name} has alpha {a}")
            groups.append({"params": [mp.param], "name": mp.name, "layer_type": mp.layer_type, "alpha": a})
        defaults = dict(
            lr=lr,
            damping=damping,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
            scale=scale,
            rms_target=rms_target,
            method=method,
        )
        self.batch_same_shape = batch_same_shape
        super().__init__(
            groups,
            defaults,
            split,
            adamw_lr=adamw_lr,
            adamw_betas=adamw_betas,
            adamw_eps=adamw_eps,
            adamw_weight_decay=weight_decay if adamw_weight_decay is None else adamw_weight_decay,
            momentum_dtype=momentum_dtype,
            nonfinite=nonfinite,
        )

    @classmethod
    def for_model(
        cls, model: nn.Module, lr: float = 0.02, alpha: AlphaSpec = "layer_type", **kw: Any
    ) -> SpectralNewton:
        """``SpectralNewton(model, lr, alpha=alpha, **kw)`` with the layer-type table as default α."""
        return cls(model, lr, alpha=alpha, **kw)

    @property
    def alphas(self) -> dict[str, float]:
        """Parameter name → α of every matrix parameter."""
        return {g["name"]: g["alpha"] for g in self.matrix_groups}

    # ------------------------------------------------------------------------------------------------
    def _momentum_input(self, group: dict[str, Any]) -> Tensor:
        p = group["params"][0]
        g = self._grad_matrix(p)
        mu = group["momentum"]
        if mu == 0:
            return g
        return self._momentum(p, g, mu, group["nesterov"])

    def _matrix_step(self, groups: list[dict[str, Any]]) -> None:
        buckets: dict[tuple, list[tuple[dict[str, Any], Tensor]]] = {}
        for group in groups:
            U = self._momentum_input(group)
            key: tuple = (tuple(U.shape), group["alpha"], group["damping"], group["method"], U.dtype, U.device)
            if not self.batch_same_shape:
                key = (*key, id(group))
            buckets.setdefault(key, []).append((group, U))
        for (_, alpha, d, method, *_), items in buckets.items():
            if len(items) == 1:
                deltas = [sn_direction(items[0][1], alpha, d, method)]
            else:
                deltas = list(sn_direction(torch.stack([U for _, U in items]), alpha, d, method).unbind(0))
            for (group, _), D in zip(items, deltas, strict=True):
                self._apply(group, D)

    def _apply(self, group: dict[str, Any], D: Tensor) -> None:
        p = group["params"][0]
        lr = group["lr"]
        if group["scale"] == "rms":  # D = 0 stays 0: the clamp only avoids 0/0 (no host sync)
            norm = torch.linalg.vector_norm(D).clamp_min(torch.finfo(D.dtype).tiny)
            D = D * (group["rms_target"] * math.sqrt(D.numel()) / norm)
        self._write(p, D, lr, lr * group["weight_decay"])
