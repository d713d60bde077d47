r"""Kronecker factors and alignment quantities on real layers (issue 5 item 4; docs/theory-reference.md §1.2–1.5, G1–G3, G13).

**Vec convention and factor order (stated once for all of ``empirics.kron``).** A weight is viewed as a
matrix :math:`W\in\mathbb R^{m\times n}` (Conv2d: ``weight.reshape(c_out, -1)``, row-major), vectorised
**row-major**: :math:`\mathrm{vec}(uw^\top)=u\otimes w` (``numpy.ravel``/``torch.reshape(-1)`` order).
Under this convention the Kronecker model is

.. math:: H_K=C_\delta\otimes C_A,\qquad v_k^\top H_Kv_k=(u_k^\top C_\delta u_k)(w_k^\top C_Aw_k),\quad v_k=u_k\otimes w_k .

(The column-major K-FAC literature writes the same operator :math:`C_A\otimes C_\delta`; pairing
:math:`u\otimes w` with :math:`C_A\otimes C_\delta` gives wrong numbers — tests/empirics/test_kron_convention.py.)

Public API (the ``empirics`` contract):

* :func:`collect_layer_io` — per-sample layer inputs :math:`a_i` (conv: im2col patches) and errors
  :math:`\delta_i=\partial\ell_i/\partial y_i` from the true labels (empirical-Fisher factor) plus the
  Gauss–Newton factor from labels sampled from the model (:mod:`empirics.kron.collect`);
* :func:`kron_record` — the results schema's ``kron`` sub-record (:mod:`empirics.kron.record`);
* :func:`layer_io_from_arrays` — a :class:`LayerIO` from given :math:`\delta`, :math:`A` (synthetic layers).
"""

from empirics.kron.collect import GN_MODES, LayerIO, collect_layer_io, layer_io_from_arrays
from empirics.kron.record import CONV_FORMS, CONVENTION, kron_record

__all__ = ["collect_layer_io", "kron_record", "layer_io_from_arrays", "LayerIO", "CONVENTION", "CONV_FORMS", "GN_MODES"]
