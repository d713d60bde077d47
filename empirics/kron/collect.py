r"""Per-sample layer inputs and errors of one layer, collected with hooks (THEORY.md §1.1, §1.5, G1).

For a layer :math:`y=Wa(+b)` and per-sample losses :math:`\ell_i` (``loss_fn(outputs, targets)``, shape
(B,)), the hooks record the layer input and :math:`\delta_i=\partial\ell_i/\partial y_i` (a tensor hook on
the layer output: correct even when an in-place activation follows). Per sample there are :math:`L`
positions sharing the weight: the :math:`L=H'W'` output locations of a Conv2d (input :math:`a_{i,t}` is
the im2col patch, ``F.unfold`` with the layer's padding, stride and dilation, in the row-major order of
``weight.reshape(c_out, -1)``), the tokens of a Linear applied to (B, T, n) inputs, and :math:`L=1` for a
plain dense layer. Then, exactly,

.. math:: G=\nabla_W\mathcal L=\frac1B\sum_i\sum_t\delta_{i,t}a_{i,t}^\top .

The **bias is not measured**: :math:`a` has no constant 1 appended and the bias gradient is not part of
:math:`G` (:math:`\delta` itself does not depend on how the bias is treated).

What is kept (memory): the layer's own input (for a conv: the raw input, not the :math:`k_hk_w`-times
larger patches, which are rebuilt chunk by chunk) and the true-label errors, both local to this process;
the factor *sums* :math:`\sum_{i,t}aa^\top`, :math:`\sum_{i,t}\delta\delta^\top` and the GN sum
(all-reduced over processes); the sampled errors are never stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from empirics import layerkinds as LK
from empirics.distributed import all_reduce_sum, global_count, global_offset
from empirics.kron.likelihood import (
    KEYED_LABELS,
    Likelihood,
    hessian_sqrt_cotangents,
    identify_likelihood,
    sample_targets_keyed,
)

ConvGeometry = LK.ConvGeometry

__all__ = ["LayerIO", "ConvGeometry", "collect_layer_io", "layer_io_from_arrays", "GN_MODES"]

GN_MODES = ("mc", "exact")


@dataclass
class LayerIO:
    r"""One layer's inputs and errors on the measured batch, plus the Kronecker factor sums.

    ``inputs``: local layer inputs; for a Conv2d the raw input (b, c_in, H, W), else (b, L, n).
    ``errors``: local true-label errors :math:`\delta`, (b, L, m). ``n_samples`` is :math:`B` (global).
    Sums are global (all-reduced): ``sum_aa`` :math:`=\sum_{i,t}a a^\top`, ``sum_dd``
    :math:`=\sum_{i,t}\delta\delta^\top`, ``sum_dd_gn`` :math:`=\sum_{i,t}\widehat{\mathbb E}[\tilde\delta\tilde\delta^\top]/c`.
    ``G`` is :math:`\frac1B\sum\delta a^\top` from the hooks; ``g_residual`` its relative distance to
    autograd's :math:`\nabla_W\mathcal L`.
    """

    name: str
    module_kind: str
    weight_shape: tuple[int, ...]
    m: int
    n: int
    L: int
    n_samples: int
    inputs: torch.Tensor
    errors: torch.Tensor
    sum_aa: torch.Tensor
    sum_dd: torch.Tensor
    sum_dd_gn: torch.Tensor | None
    G: torch.Tensor
    g_residual: float
    geometry: ConvGeometry | None = None
    input_ndim: int = 2
    has_bias: bool = False
    chunk_size: int | None = None
    gn: dict[str, Any] = field(default_factory=dict)

    # -- factors ----------------------------------------------------------------------------------
    @property
    def C_A(self) -> torch.Tensor:
        r"""Naive :math:`C_A=\frac1{BL}\sum_{i,t}aa^\top` (the plain :math:`\frac1BA^\top A` when :math:`L=1`)."""
        return self.sum_aa / (self.n_samples * self.L)

    @property
    def Omega(self) -> torch.Tensor:
        r"""KFC input factor :math:`\Omega=\frac1B\sum_i\sum_t aa^\top=L\,C_A`."""
        return self.sum_aa / self.n_samples

    @property
    def C_delta(self) -> torch.Tensor:
        r"""EF error factor :math:`C_\delta=\frac1{BL}\sum_{i,t}\delta\delta^\top` (= KFC's :math:`\Gamma`)."""
        return self.sum_dd / (self.n_samples * self.L)

    @property
    def C_delta_gn(self) -> torch.Tensor | None:
        r"""GN error factor :math:`\frac1{BL}\sum_{i,t}\mathbb E[\tilde\delta\tilde\delta^\top]/c` (None if not collected)."""
        return None if self.sum_dd_gn is None else self.sum_dd_gn / (self.n_samples * self.L)

    # -- per-sample data (local) --------------------------------------------------------------------
    def patches(self, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Local layer inputs :math:`a_{i,t}` of samples ``start:stop`` as (b, L, n)."""
        x = self.inputs[start:stop].to(self.sum_aa.device)
        if self.geometry is None:
            return x
        return _unfold(x, self.geometry)

    @property
    def A(self) -> torch.Tensor:
        """All local inputs: (B, n) for a plain dense layer, else (B, L, n) (materialises conv patches)."""
        a = self.patches()
        return a[:, 0, :] if (self.geometry is None and self.input_ndim == 2) else a

    @property
    def delta(self) -> torch.Tensor:
        """All local true-label errors: (B, m) for a plain dense layer, else (B, L, m)."""
        return self.errors[:, 0, :] if (self.geometry is None and self.input_ndim == 2) else self.errors

    def chunks(self) -> list[tuple[int, int]]:
        """Sample ranges for chunked passes: at most ``chunk_size`` samples and about
        :data:`PATCH_BUDGET` patch entries (b·L·n) each."""
        b = self.inputs.shape[0]
        step = min(self.chunk_size or b, _patch_rows(self.L, self.n)) or 1
        return [(s, min(s + step, b)) for s in range(0, b, step)]


#: Upper bound on the entries of one materialised im2col block (b, L, n): 2**25 (256 MiB in float64).
PATCH_BUDGET = 2**25


def _patch_rows(L: int, n: int) -> int:
    return max(1, PATCH_BUDGET // max(1, L * n))


def _unfold(x: torch.Tensor, g: ConvGeometry) -> torch.Tensor:
    return LK.im2col(x, g)


def _kron_layers(model: nn.Module) -> list[str]:
    outs = {id(m.out_proj) for m in model.modules() if isinstance(m, nn.MultiheadAttention)}
    return [
        n
        for n, mod in model.named_modules()
        if LK.kind_of(mod) is not None and LK.kron_decline(mod, inside_mha=id(mod) in outs) is None
    ]


def _check_module(model: nn.Module, name: str) -> tuple[nn.Module, LK.LayerKind]:
    modules = dict(model.named_modules())
    if name not in modules:
        raise ValueError(
            f"unknown layer {name!r}; layers with Kronecker factors: {', '.join(_kron_layers(model)) or '(none)'}"
        )
    module = modules[name]
    outs = {id(m.out_proj) for m in model.modules() if isinstance(m, nn.MultiheadAttention)}
    kind = LK.kind_of(module, inside_mha=id(module) in outs)
    if kind is None:
        raise ValueError(f"layer {name!r}: no Kronecker factor pair: {type(module).__name__} is not a matrix weight")
    reason = LK.kron_decline(module, inside_mha=id(module) in outs)
    if reason is not None:
        raise ValueError(f"layer {name!r}: {reason}")
    for mod_name, mod in modules.items():
        if mod.training and isinstance(mod, (nn.modules.batchnorm._BatchNorm, nn.Dropout)):
            raise ValueError(
                f"module {mod_name!r} is in training mode; measure in eval mode (settings.bn_mode='eval'): "
                "per-sample errors need samples that do not interact"
            )
    return module, kind


def collect_layer_io(
    model: nn.Module,
    loss_fn,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    name: str,
    *,
    gn_samples: int = 1,
    seed: int = 0,
    gn_mode: str = "mc",
    likelihood: str | None = None,
    chunk_size: int | None = None,
    store_device: torch.device | str | None = None,
) -> LayerIO:
    r"""Collect :math:`a_{i,t}`, :math:`\delta_{i,t}` and the factor sums of layer ``name`` (see module doc).

    ``gn_samples`` draws of labels from the model's predictive distribution (``gn_mode="mc"``; sample
    :math:`i` draws from its own generator keyed by ``(seed, i)``, :math:`i` the global sample index, so the
    labels do not depend on ``chunk_size`` or on the number of processes) estimate the GN
    factor; ``gn_mode="exact"`` backpropagates the loss-Hessian square root instead (the exact
    expectation; positions × classes backward passes); ``gn_samples=0`` skips the GN factor. With
    ``likelihood=None`` the predictive distribution is identified from the loss (see
    :mod:`empirics.kron.likelihood`); if that fails the GN factor is skipped and the reason recorded in
    ``gn["skipped"]`` (an explicit ``likelihood`` that does not fit the loss raises ``ValueError``).
    ``chunk_size`` bounds the samples per forward/backward pass; ``store_device`` (e.g. ``"cpu"``) is where
    the kept inputs and errors live (default: the weight's device). The model must be in eval mode.
    """
    if gn_mode not in GN_MODES:
        raise ValueError(f"gn_mode: unknown {gn_mode!r}; choose from {GN_MODES}")
    if gn_samples < 0:
        raise ValueError(f"gn_samples must be >= 0, got {gn_samples}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    module, kind = _check_module(model, name)
    b_local = int(inputs.shape[0])
    if b_local == 0:
        raise ValueError("empty batch: inputs have 0 samples")
    if int(targets.shape[0]) != b_local:
        raise ValueError(f"inputs have {b_local} samples but targets have {int(targets.shape[0])}")
    weight = module.weight
    m, n = (int(s) for s in kind.to_matrix(weight).shape)
    geometry = LK.conv_geometry(module)
    is_conv = geometry is not None
    dtype, device = weight.dtype, weight.device
    want_gn = gn_samples > 0

    sink: dict[str, Any] = {"calls": 0, "x": None, "grad": None}

    def fwd_hook(mod, args, out):
        sink["calls"] += 1
        sink["x"] = args[0].detach()

        def grad_hook(g):
            sink["grad"] = g.detach()

        out.register_hook(grad_hook)

    def errors_of(g: torch.Tensor) -> torch.Tensor:
        # (b, c_out, H', W') -> (b, L, m);  (b, ..., m) -> (b, L, m)
        if is_conv:
            return g.flatten(2).transpose(1, 2)
        return g.reshape(g.shape[0], -1, m)

    sum_aa = torch.zeros(n, n, dtype=dtype, device=device)
    sum_dd = torch.zeros(m, m, dtype=dtype, device=device)
    sum_gn = torch.zeros(m, m, dtype=dtype, device=device) if want_gn else None
    G_sum = torch.zeros(m, n, dtype=dtype, device=device)
    G_auto = torch.zeros(m, n, dtype=dtype, device=device)
    xs, ds = [], []
    lik: Likelihood | None = None
    gn_skip: str | None = None
    # MC labels: sample i draws from a generator keyed by (seed, global index i), see sample_targets_keyed
    first_global = global_offset(b_local, device) if want_gn and gn_mode == "mc" else 0
    L = 1
    input_ndim = 2

    was_requires_grad = weight.requires_grad
    weight.requires_grad_(True)
    handle = module.register_forward_hook(fwd_hook)
    try:
        step = chunk_size or max(b_local, 1)
        for s in range(0, b_local, step):
            x_in, t_in = inputs[s : s + step], targets[s : s + step]
            sink["calls"] = 0
            with torch.enable_grad():
                outputs = model(x_in)
                losses = loss_fn(outputs, t_in)
                if tuple(losses.shape) != (x_in.shape[0],):
                    raise ValueError(
                        f"loss_fn must return per-sample losses of shape ({x_in.shape[0]},), got {tuple(losses.shape)}"
                    )
                if sink["calls"] != 1:
                    raise ValueError(
                        f"layer {name!r} ran {sink['calls']} times in one forward; re-used modules are not supported"
                    )
                x = sink["x"]
                input_ndim = x.dim()
                sink["grad"] = None
                (gw,) = torch.autograd.grad(losses.sum(), weight, retain_graph=want_gn)
                G_auto += kind.to_matrix(gw)
                if sink["grad"] is None:
                    raise ValueError(f"layer {name!r}: its output received no gradient from the loss")
                d = errors_of(sink["grad"])
                L = d.shape[1]
                xs.append((x if is_conv else x.reshape(x.shape[0], -1, n)).to(store_device or device))
                ds.append(d.to(store_device or device))
                rows = _patch_rows(L, n)
                for r0 in range(0, x.shape[0], rows):  # im2col in blocks of about PATCH_BUDGET entries
                    xr, dr = x[r0 : r0 + rows], d[r0 : r0 + rows]
                    a = _unfold(xr, geometry) if is_conv else xr.reshape(xr.shape[0], -1, n)
                    sum_aa += torch.einsum("bli,blj->ij", a, a)
                    G_sum += torch.einsum("blm,bln->mn", dr, a)
                    del a
                sum_dd += torch.einsum("bli,blj->ij", d, d)
                if want_gn and gn_skip is None:
                    try:
                        lik_c = identify_likelihood(outputs, t_in, losses, likelihood)
                        if lik is not None and (
                            lik_c.kind != lik.kind or abs(lik_c.scale - lik.scale) > 1e-6 * lik.scale
                        ):
                            raise ValueError(
                                f"GN factor: the loss scale c differs between chunks ({lik.scale} vs {lik_c.scale})"
                            )
                    except ValueError as exc:
                        if likelihood is not None:  # asked for explicitly: a bad input
                            raise
                        gn_skip = str(exc)
                    else:
                        lik = lik_c
                        keys = (int(seed), first_global + s)
                        sum_gn += _gn_chunk(
                            outputs, weight, m, sink, errors_of, lik, gn_mode, gn_samples, keys, t_in, loss_fn
                        )
                del outputs, losses
    finally:
        handle.remove()
        weight.requires_grad_(was_requires_grad)

    B = global_count(b_local, device)
    sum_aa, sum_dd = all_reduce_sum(sum_aa), all_reduce_sum(sum_dd)
    if want_gn:  # every process must agree on skipping the GN factor before its sum is all-reduced
        skipped = all_reduce_sum(torch.tensor([0.0 if gn_skip is None else 1.0], dtype=dtype, device=device))
        if float(skipped.item()) > 0:
            gn_skip = gn_skip or "GN factor skipped on another process"
            sum_gn = None
        else:
            sum_gn = all_reduce_sum(sum_gn)
    G = all_reduce_sum(G_sum) / B
    G_ref = all_reduce_sum(G_auto) / B
    ref = float(torch.linalg.norm(G_ref))
    g_res = float(torch.linalg.norm(G - G_ref)) / ref if ref > 0 else float(torch.linalg.norm(G - G_ref))
    gn_info: dict[str, Any] = {"samples": int(gn_samples), "mode": gn_mode if want_gn else None, "seed": int(seed)}
    if want_gn and gn_mode == "mc":
        gn_info["sampling"] = KEYED_LABELS
    if lik is not None and gn_skip is None:
        gn_info.update(likelihood=lik.kind, loss_scale=lik.scale)
    if gn_skip is not None:
        gn_info.update(mode=None, skipped=gn_skip)
    return LayerIO(
        name=name,
        module_kind="conv2d" if is_conv else "linear",
        weight_shape=tuple(weight.shape),
        m=m,
        n=n,
        L=int(L),
        n_samples=B,
        inputs=torch.cat(xs) if xs else torch.zeros(0, dtype=dtype, device=device),
        errors=torch.cat(ds) if ds else torch.zeros(0, int(L), m, dtype=dtype, device=device),
        sum_aa=sum_aa,
        sum_dd=sum_dd,
        sum_dd_gn=sum_gn,
        G=G,
        g_residual=g_res if math.isfinite(g_res) else float("nan"),
        geometry=geometry,
        input_ndim=input_ndim,
        has_bias=getattr(module, "bias", None) is not None,
        chunk_size=chunk_size,
        gn=gn_info,
    )


def _gn_chunk(outputs, weight, m, sink, errors_of, lik, gn_mode, gn_samples, keys, t_in, loss_fn) -> torch.Tensor:
    r""":math:`\sum_{i,t}` of the GN second moment on one chunk: MC average over draws divided by :math:`c`, or exact.
    ``keys = (seed, global index of the chunk's first sample)`` key the MC labels (:func:`sample_targets_keyed`)."""
    acc = torch.zeros(m, m, dtype=weight.dtype, device=weight.device)
    if gn_mode == "mc":
        labels = sample_targets_keyed(lik, outputs, seed=keys[0], first_index=keys[1], draws=gn_samples)
        for r in range(gn_samples):
            y_tilde = labels[r]
            if lik.kind == "categorical":
                y_tilde = y_tilde.to(t_in.dtype)
            lt = loss_fn(outputs, y_tilde).sum()
            torch.autograd.grad(lt, weight, retain_graph=r < gn_samples - 1)
            d = errors_of(sink["grad"])
            acc += torch.einsum("bli,blj->ij", d, d)
        return acc / (gn_samples * lik.scale)
    cots = list(hessian_sqrt_cotangents(lik, outputs))
    for j, cot in enumerate(cots):
        torch.autograd.grad(outputs, weight, grad_outputs=cot, retain_graph=j < len(cots) - 1)
        d = errors_of(sink["grad"])
        acc += torch.einsum("bli,blj->ij", d, d)
    return acc


def layer_io_from_arrays(delta, A, *, delta_gn_sum=None, name: str = "arrays") -> LayerIO:
    r"""A :class:`LayerIO` from given errors and inputs — (B, m) and (B, n), or (B, L, m) and (B, L, n).

    For synthetic layers (THEORY.md §3.0 recipes) and cross-checks: no model, no hooks. ``G`` is
    :math:`\frac1B\sum_{i,t}\delta a^\top`; ``g_residual`` is NaN (there is no autograd reference);
    ``delta_gn_sum`` optionally supplies :math:`\sum_{i,t}\mathbb E[\tilde\delta\tilde\delta^\top]/c`.
    """
    d = torch.as_tensor(delta)
    a = torch.as_tensor(A, dtype=d.dtype)
    if d.dim() not in (2, 3) or a.dim() != d.dim() or d.shape[:-1] != a.shape[:-1]:
        raise ValueError(f"delta {tuple(d.shape)} and A {tuple(a.shape)} must be (B, m)/(B, n) or (B, L, m)/(B, L, n)")
    ndim = d.dim()
    if ndim == 2:
        d, a = d[:, None, :], a[:, None, :]
    B, L, m = d.shape
    n = a.shape[-1]
    return LayerIO(
        name=name,
        module_kind="linear",
        weight_shape=(m, n),
        m=m,
        n=n,
        L=L,
        n_samples=B,
        inputs=a,
        errors=d,
        sum_aa=torch.einsum("bli,blj->ij", a, a),
        sum_dd=torch.einsum("bli,blj->ij", d, d),
        sum_dd_gn=None if delta_gn_sum is None else torch.as_tensor(delta_gn_sum, dtype=d.dtype),
        G=torch.einsum("blm,bln->mn", d, a) / B,
        g_residual=float("nan"),
        input_ndim=ndim,
    )
