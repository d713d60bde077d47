r"""App. M's negative control: AdamW with a scalar per-layer learning rate (docs/theory-reference.md §3.13, G19).

.. math:: \eta_\ell=\eta_0\,(s_\ell/\bar s)^{\beta_{\rm pc}},\qquad s_\ell=\alpha_\ell\gamma_\ell\ \text{(measured)},
          \quad\beta_{\rm pc}\in\{0.5,1,1.5\}

(:math:`\beta_{\rm pc}` is App. M's :math:`\beta`, renamed per docs/theory-reference.md §1.7). The tex leaves :math:`\bar s`,
:math:`\eta_0`, the controls and the measurement schedule undefined (G19). Choices made here (all arguments):

* :math:`\bar s` — ``mean="geometric"`` (default): :math:`\bar s=\exp\overline{\ln s_\ell}`, so the multipliers
  :math:`(s_\ell/\bar s)^{\beta}` have geometric mean 1 (the average log learning rate stays :math:`\ln\eta_0`
  for every :math:`\beta`, and the inverse control is the exact mirror image); ``"arithmetic"`` uses the plain
  mean. Either is over the measured layers given.
* A layer's rate applies to **all parameters of that module** (weight and bias); every parameter of an
  unmeasured module keeps :math:`\eta_0`.
* ``control="inverse"``: exponent :math:`-\beta` (App. M's "inverse scaling").
* ``control="random"``: App. M's "random per-layer noise", with the same spread as the spectral multipliers:
  ``random="permutation"`` (default) assigns the spectral multipliers :math:`(s_\ell/\bar s)^\beta` to the
  layers in a seeded random order (same multiset, hence same spread and mean); ``random="lognormal"`` draws
  :math:`\exp(\tau z_\ell)` with seeded :math:`N(0,1)` draws standardised to mean 0 and standard deviation 1
  over the layers, and :math:`\tau` the population standard deviation of :math:`\beta\ln(s_\ell/\bar s)` — so the
  log-multipliers have exactly the spectral spread and geometric mean 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["MEANS", "CONTROLS", "RANDOM_MODES", "s_bar", "scalar_multipliers", "make_scalar_adamw"]

MEANS = ("geometric", "arithmetic")
CONTROLS = ("spectral", "inverse", "random")
RANDOM_MODES = ("permutation", "lognormal")


def s_bar(s: Mapping[str, float], mean: str = "geometric") -> float:
    r""":math:`\bar s` over the measured layers: geometric or arithmetic mean of positive :math:`s_\ell`."""
    if mean not in MEANS:
        raise ValueError(f"mean must be one of {', '.join(MEANS)}, got {mean!r}")
    vals = np.array(list(s.values()), dtype=float)
    if vals.size == 0:
        raise ValueError("s_by_layer is empty")
    if not np.all(np.isfinite(vals)) or np.any(vals <= 0):
        raise ValueError(f"every s_l must be finite and > 0, got {dict(s)}")
    return float(np.exp(np.mean(np.log(vals)))) if mean == "geometric" else float(np.mean(vals))


def scalar_multipliers(
    s: Mapping[str, float],
    beta: float = 1.0,
    *,
    control: str = "spectral",
    mean: str = "geometric",
    seed: int = 0,
    random: str = "permutation",
) -> dict[str, float]:
    r"""Layer → :math:`\eta_\ell/\eta_0` under ``control`` (see the module docstring)."""
    if control not in CONTROLS:
        raise ValueError(f"control must be one of {', '.join(CONTROLS)}, got {control!r}")
    if random not in RANDOM_MODES:
        raise ValueError(f"random must be one of {', '.join(RANDOM_MODES)}, got {random!r}")
    sb = s_bar(s, mean)
    names = list(s)
    if control == "inverse":
        return {k: (s[k] / sb) ** (-beta) for k in names}
    mult = {k: (s[k] / sb) ** beta for k in names}
    if control == "spectral":
        return mult
    rng = np.random.default_rng(seed)
    if random == "permutation":
        order = rng.permutation(len(names))
        vals = [mult[names[i]] for i in order]
        return dict(zip(names, vals, strict=True))
    tau = float(np.log(np.array([mult[k] for k in names])).std())
    z = rng.standard_normal(len(names))
    z -= z.mean()
    if z.size > 1 and z.std() > 0:
        z /= z.std()
    return {k: float(math.exp(tau * v)) for k, v in zip(names, z, strict=True)}


def make_scalar_adamw(
    model: nn.Module,
    lr: float,
    s_by_layer: Mapping[str, float],
    *,
    beta: float = 1.0,
    control: str = "spectral",
    mean: str = "geometric",
    seed: int = 0,
    random: str = "permutation",
    weight_decay: float = 0.01,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> torch.optim.AdamW:
    r"""AdamW with one group per measured module (``lr`` = :math:`\eta_0\cdot` multiplier) and one for the rest.

    ``s_by_layer`` maps module names (``"layer1.0.conv1"``) to :math:`s_\ell`; each layer group carries
    ``layer``, ``s`` and ``multiplier``. Unknown names raise ``ValueError``.
    """
    modules = dict(model.named_modules())
    unknown = [k for k in s_by_layer if k not in modules or not list(modules[k].parameters(recurse=False))]
    if unknown:
        raise ValueError(f"s_by_layer names no module with parameters: {', '.join(unknown)}")
    mult = scalar_multipliers(s_by_layer, beta, control=control, mean=mean, seed=seed, random=random)
    groups: list[dict[str, Any]] = []
    taken: set[int] = set()
    for name in s_by_layer:
        ps = [p for p in modules[name].parameters(recurse=False) if p.requires_grad and id(p) not in taken]
        taken.update(id(p) for p in ps)
        if ps:
            groups.append(
                {
                    "params": ps,
                    "lr": lr * mult[name],
                    "layer": name,
                    "s": float(s_by_layer[name]),
                    "multiplier": mult[name],
                }
            )
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in taken]
    if rest:
        groups.append({"params": rest, "lr": lr, "layer": None, "s": None, "multiplier": 1.0})
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
