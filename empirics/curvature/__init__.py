r"""Directional curvatures of a layer along its gradient's singular directions (docs/theory-reference.md §1.3–§1.4).

For a layer with weight :math:`W` (matrix view :math:`m\times n`, :mod:`empirics.layerkinds`) and the batch
objective :math:`\mathcal L=\frac1B\sum_i\ell_i` (``loss_fn(outputs, targets)`` returns the per-sample
:math:`\ell_i`): directions :math:`D_k=u_kw_k^\top` from :math:`G=\sum_k\sigma_ku_kw_k^\top`, and
:math:`h_k=v_k^\top Hv_k` exactly, in the Gauss–Newton form, by finite differences or by the paper's loop.

Modules, each importing only those above it in this list:

* :mod:`~empirics.curvature.result` — :class:`CurvatureResult` (what every method returns) and the
  per-measurement :class:`EngineCache`;
* :mod:`~empirics.curvature.forms` — module rewrites into exact forms (BatchNorm, LayerNorm, GroupNorm,
  SDPA, MHA fast path);
* :mod:`~empirics.curvature.memory` — chunk sizes from free memory;
* :mod:`~empirics.curvature.functional` — the layer-restricted loss and output functions;
* :mod:`~empirics.curvature.directions` — :math:`G`, its SVD, :math:`D_k`;
* :mod:`~empirics.curvature.piecewise` — is the output piecewise linear in a weight (the ``gn_exact`` certificate);
* :mod:`~empirics.curvature.adjoint` — Gauss–Newton from shared output adjoints;
* :mod:`~empirics.curvature.gauss_newton` — Gauss–Newton, jvp form;
* :mod:`~empirics.curvature.tangents`, :mod:`~empirics.curvature.tangent_linear`,
  :mod:`~empirics.curvature.tangent_rules`, :mod:`~empirics.curvature.tangent_modes` — forward tangents and
  second-order source terms of single ops, and the dispatch modes that carry them through a forward;
* :mod:`~empirics.curvature.forward_adjoint` — every layer's exact curvature from one shared backward and
  one forward tangent per direction (``fwd_adj``);
* :mod:`~empirics.curvature.per_layer` — the per-layer methods (``fwd_fwd``, ``fwd_rev``, ``rev_rev``) and
  ``auto``'s timing trial;
* :mod:`~empirics.curvature.exact` — exact methods and ``auto``;
* :mod:`~empirics.curvature.reference` — finite differences and the paper's protocol;
* :mod:`~empirics.curvature.engine` — :class:`CurvatureEngine`, one measurement's methods and caches.
"""

from empirics.curvature.directions import (
    Directions,
    direction_tensors,
    gradient_matrices,
    layer_directions,
    leading,
    top_k_directions,
)
from empirics.curvature.engine import CurvatureEngine
from empirics.curvature.exact import GN_FORMS, METHODS, AllMethodsFailed, exact_curvatures
from empirics.curvature.forms import exact_forms
from empirics.curvature.forward_adjoint import ForwardAdjoint, fwd_adj_curvatures
from empirics.curvature.functional import objective
from empirics.curvature.gauss_newton import NotSingleTensor, gn_curvatures
from empirics.curvature.memory import auto_chunk_size
from empirics.curvature.piecewise import PLVerdict, piecewise_linear_layers
from empirics.curvature.reference import fd_curvatures, paper_protocol_curvatures
from empirics.curvature.result import GN_EXACT_LABEL, CurvatureResult, EngineCache

__all__ = [
    "AllMethodsFailed",
    "CurvatureEngine",
    "CurvatureResult",
    "Directions",
    "EngineCache",
    "ForwardAdjoint",
    "GN_EXACT_LABEL",
    "GN_FORMS",
    "METHODS",
    "NotSingleTensor",
    "PLVerdict",
    "auto_chunk_size",
    "direction_tensors",
    "exact_curvatures",
    "exact_forms",
    "fd_curvatures",
    "fwd_adj_curvatures",
    "gn_curvatures",
    "gradient_matrices",
    "layer_directions",
    "leading",
    "objective",
    "paper_protocol_curvatures",
    "piecewise_linear_layers",
    "top_k_directions",
]
