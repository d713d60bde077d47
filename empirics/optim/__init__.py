r"""Optimizers built on the paper's transfer function :math:`T(\sigma;\alpha)=\sigma/(\sigma^\alpha+d)`, and baselines.

* :mod:`~empirics.optim.transfer` — :math:`\Delta W=\sum_kT(\sigma_k;\alpha)u_kw_k^\top` without an SVD;
* :mod:`~empirics.optim.spectral_newton` — :class:`SpectralNewton` (matrix parameters) + AdamW (the rest);
* :mod:`~empirics.optim.muon` — Muon baseline (conv weights included);
* :mod:`~empirics.optim.scalar_control` — App. M's scalar per-layer learning-rate control;
* :mod:`~empirics.optim.build` — :func:`build_optimizer` by name (:data:`OPTIMIZER_NAMES`);
* :mod:`~empirics.optim.matrix_view` — :func:`matrix_view`: is a module's parameter a matrix, and its (m, n) view;
* :mod:`~empirics.optim.hybrid` — the routing rule (matrix / AdamW, tied weights), dtypes, the AdamW part's
  learning rate (:data:`ADAMW_LR`) and the shared base class.
"""

from empirics.optim.build import OPTIMIZER_NAMES, build_optimizer
from empirics.optim.hybrid import ADAMW_LR
from empirics.optim.matrix_view import MatrixView, matrix_view
from empirics.optim.muon import Muon, make_muon, newton_schulz
from empirics.optim.routing import split_parameters
from empirics.optim.scalar_control import make_scalar_adamw, scalar_multipliers
from empirics.optim.spectral_newton import ALPHA_BY_LAYER_TYPE, SpectralNewton
from empirics.optim.transfer import compute_dtype, sn_cholesky, sn_direction, sn_eigh, sn_svd, transfer_function

__all__ = [
    "ADAMW_LR",
    "ALPHA_BY_LAYER_TYPE",
    "OPTIMIZER_NAMES",
    "MatrixView",
    "Muon",
    "SpectralNewton",
    "build_optimizer",
    "compute_dtype",
    "make_muon",
    "make_scalar_adamw",
    "matrix_view",
    "newton_schulz",
    "scalar_multipliers",
    "sn_cholesky",
    "sn_direction",
    "sn_eigh",
    "sn_svd",
    "split_parameters",
    "transfer_function",
]
