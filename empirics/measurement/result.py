r"""The result of :func:`empirics.measure`: one :class:`LayerResult` per layer and a :class:`Measurement`
that tabulates, plots and saves them.

Per layer: :math:`\sigma_k` (the gradient's singular values), :math:`h^{\rm exact}_k=v_k^\top Hv_k` along
:math:`v_k=\mathrm{vec}(u_kw_k^\top)`, the directions themselves (``U`` :math:`m\times k`, ``V``
:math:`n\times k`, in the layer's matrix view :mod:`empirics.layerkinds`), the optional :math:`h^{\rm GN}_k`,
:math:`h^{\rm FD}_k`, and the window fits (α: slope of :math:`\log h` on :math:`\log\sigma`; γ: of
:math:`-\log\sigma` on :math:`\log k`; the transfer identity :math:`s=\alpha\gamma`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LayerResult", "Measurement", "COLUMNS"]

#: the DataFrame's columns, in order
COLUMNS = (
    "layer",
    "type",
    "shape",
    "k",
    "alpha",
    "r2_alpha",
    "gamma",
    "s",
    "transfer_error",
    "pr_h",
    "n_nonpositive",
    "method",
    "seconds",
    "error",
)


def _array(values) -> np.ndarray | None:
    if values is None:
        return None
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@dataclass(frozen=True)
class LayerResult:
    """One layer: its record (``sad-results/1``), the directions used, or the error that stopped it."""

    name: str
    layer_type: str
    record: dict[str, Any] | None = None
    U: np.ndarray | None = None
    V: np.ndarray | None = None
    error: str | None = None
    hint: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the layer was measured (no ``error``)."""
        return self.error is None

    @property
    def sigma(self) -> np.ndarray | None:
        r""":math:`\sigma_k`, the gradient's top-k singular values (descending)."""
        return _array(self.record["sigma"]) if self.record else None

    @property
    def h_exact(self) -> np.ndarray | None:
        r""":math:`h_k=v_k^\top Hv_k` along :math:`v_k=\mathrm{vec}(u_kw_k^\top)` (NaN where non-finite)."""
        return _array(self.record["h_exact"]) if self.record else None

    @property
    def h_gn(self) -> np.ndarray | None:
        r""":math:`v_k^\top H_{\rm GN}v_k` (``None`` when not measured)."""
        return _array(self.record.get("h_gn")) if self.record else None

    @property
    def h_fd(self) -> np.ndarray | None:
        """Finite-difference curvatures (``None`` unless ``fd=True``)."""
        return _array(self.record.get("h_fd")) if self.record else None

    @property
    def fits(self) -> dict[str, Any]:
        """The window fits (:func:`theory.fits.summarize_layer`)."""
        return dict(self.record.get("fits") or {}) if self.record else {}

    @property
    def notes(self) -> list[str]:
        """The record's diagnostics notes (clamped k, declined records, non-positive curvatures, ...)."""
        return list(self.record["diagnostics"]["notes"]) if self.record else []

    @property
    def alpha(self) -> float | None:
        r""":math:`\alpha`: slope of :math:`\log h_k` on :math:`\log\sigma_k`."""
        return self.fits.get("alpha")

    @property
    def gamma(self) -> float | None:
        r""":math:`\gamma`: minus the slope of :math:`\log\sigma_k` on :math:`\log k`."""
        return self.fits.get("gamma")

    @property
    def s(self) -> float | None:
        r""":math:`s`: minus the slope of :math:`\log h_{(j)}` on :math:`\log j`, :math:`h_{(j)}` the positive
        curvatures in decreasing order (the transfer identity says :math:`s=\alpha\gamma`)."""
        return self.fits.get("s")

    def row(self) -> dict[str, Any]:
        """The layer's DataFrame row (:data:`COLUMNS`)."""
        rec = self.record or {}
        f = self.fits
        timing = rec.get("timing", {})
        seconds = sum(v for k, v in timing.items() if k.endswith("_s") and isinstance(v, (int, float)))
        shape = tuple(rec["shape"]) if rec else None
        return {
            "layer": self.name,
            "type": self.layer_type,
            "shape": shape,
            "k": rec.get("k"),
            "alpha": f.get("alpha"),
            "r2_alpha": f.get("r2_alpha"),
            "gamma": f.get("gamma"),
            "s": f.get("s"),
            "transfer_error": f.get("transfer_error"),
            "pr_h": f.get("pr_h"),
            "n_nonpositive": rec.get("diagnostics", {}).get("n_nonpositive_h"),
            "method": _short(rec.get("curvature_method")),
            "seconds": round(seconds, 3) if rec else None,
            "error": None if self.ok else f"{self.error} ({self.hint})" if self.hint else self.error,
        }


@dataclass
class Measurement:
    """Every layer's :class:`LayerResult`, in model order, plus the run description used by :meth:`save`.

    ``m["layer.name"]`` is a :class:`LayerResult`; ``m.records`` the ``sad-results/1`` layer records of the
    layers that were measured; ``m.errors`` ``{name: error}`` of those that failed."""

    layers: dict[str, LayerResult]
    run: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> LayerResult:
        if name not in self.layers:
            raise KeyError(f"no layer {name!r}; measured: {', '.join(self.layers)}")
        return self.layers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        bad = len(self.errors)
        return f"Measurement({len(self.layers)} layers, k={self.run.get('k')}{f', {bad} failed' if bad else ''})"

    @property
    def records(self) -> list[dict[str, Any]]:
        """The ``sad-results/1`` layer records of the measured layers."""
        return [r.record for r in self.layers.values() if r.record is not None]

    @property
    def errors(self) -> dict[str, str]:
        """``{layer: error}`` of the layers that could not be measured."""
        return {n: r.error for n, r in self.layers.items() if r.error is not None}

    def to_dataframe(self):
        """A pandas DataFrame with one row per layer (columns :data:`COLUMNS`)."""
        import pandas as pd

        return pd.DataFrame([r.row() for r in self.layers.values()], columns=list(COLUMNS))

    def plot(self, layer: str | None = None, *, path: str | Path | None = None, cols: int = 4):
        r"""Log-log :math:`h_k` against :math:`\sigma_k` with the fitted :math:`h\propto\sigma^\alpha` line:
        a grid of every measured layer, or one ``layer``. Returns the matplotlib figure (saved to ``path``
        when given). Non-positive :math:`h_k` cannot be drawn on a log axis: they are counted in the title."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        names = [layer] if layer is not None else [n for n, r in self.layers.items() if r.ok]
        for n in names:
            self[n]
        cols = max(1, min(cols, len(names)))
        rows = max(1, math.ceil(len(names) / cols))
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
        for ax, n in zip(axes.flat, names, strict=False):
            _panel(ax, self.layers[n])
        for ax in list(axes.flat)[len(names) :]:
            ax.set_visible(False)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig

    def document(self, *, complete: bool = True) -> dict[str, Any]:
        """The ``sad-results/1`` document (what :meth:`save` writes)."""
        from empirics.results_io import provenance

        settings = dict(self.settings)
        if self.errors:
            settings["failed_layers"] = self.errors
        return {
            "schema": "sad-results/1",
            "complete": complete,
            "run": dict(self.run),
            "provenance": provenance(
                settings, seed=int(self.run.get("seed", 0)), device=self.run["device"], dtype=self.run["dtype"]
            ),
            "layers": self.records,
        }

    def save(self, path: str | Path) -> Path:
        """Write the measured layers as a ``sad-results/1`` file (atomically; failed layers are listed in
        ``provenance.settings.failed_layers``); ``python -m claims verify --results DIR`` reads it."""
        from empirics.results_io import write_atomic

        p = Path(path)
        write_atomic(p, self.document())
        return p


def _short(method: str | None) -> str | None:
    """``gn_exact`` for the long label of the Gauss–Newton shortcut, else the method as recorded."""
    return "gn_exact" if method and method.startswith("gn_exact") else method


def _panel(ax, r: LayerResult) -> None:
    sigma, h = r.sigma, r.h_exact
    assert sigma is not None and h is not None
    good = np.isfinite(h) & (h > 0) & (sigma > 0)
    ax.loglog(sigma[good], h[good], "o", ms=3.5, color="tab:blue", label=r"$h_k$")
    a, f = r.alpha, r.fits
    if a is not None and np.isfinite(a) and good.sum() >= 2:
        xs = np.array([sigma[good].min(), sigma[good].max()])
        c = np.exp(np.mean(np.log(h[good]) - a * np.log(sigma[good])))
        ax.loglog(xs, c * xs**a, "-", color="tab:red", lw=1.2, label=rf"$\alpha={a:.2f}$")
        ax.legend(fontsize=7, loc="best")
    bad = int((~good).sum())
    r2 = f.get("r2_alpha")
    title = f"{r.name} ({r.layer_type})"
    ax.set_title(
        title + (f"\n$r^2$={r2:.2f}" if r2 is not None else "") + (f", {bad} not drawn" if bad else ""), fontsize=8
    )
    ax.set_xlabel(r"$\sigma_k$", fontsize=8)
    ax.set_ylabel(r"$h_k$", fontsize=8)
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(which="both", labelsize=7)
