"""Draw the report's figures (:mod:`.figdata`) as PNG files with matplotlib's Agg backend (no display).

This is the only module of :mod:`claims` that imports matplotlib, and only :mod:`.build` imports it.
Every figure is a fresh :class:`matplotlib.figure.Figure` on an Agg canvas (no pyplot state).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402
from matplotlib.ticker import MaxNLocator, NullFormatter  # noqa: E402

from theory.fits import RANK_MODELS  # noqa: E402

from .figdata import BAND, DepthPanel, HSigmaPanel, TrianglePanel  # noqa: E402
from .figkron import KronPanel, correlations  # noqa: E402
from .figlaws import LawPanel  # noqa: E402
from .figrank import RankPanel, Trajectory, WinCounts  # noqa: E402
from .figure import Figure  # noqa: E402

DPI = 110
MODEL_COLOR = {"power_law": "#1f77b4", "exponential": "#ff7f0e", "lognormal": "#2ca02c"}
MODEL_LABEL = {"power_law": "power law", "exponential": "exponential", "lognormal": "log-normal"}
TYPE_COLOR = {
    "conv": "#1f77b4",
    "downsample": "#17becf",
    "dense": "#8c564b",
    "head": "#d62728",
    "attn_qkv": "#9467bd",
    "attn_proj": "#e377c2",
    "mlp_up": "#ff7f0e",
    "mlp_down": "#bcbd22",
    "patch_embed": "#7f7f7f",
}
RC: dict = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def _new(nrows: int, ncols: int, w: float, h: float) -> tuple[MplFigure, list]:
    fig = MplFigure(figsize=(w * ncols, h * nrows), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axs = fig.subplots(nrows, ncols, squeeze=False)
    return fig, [a for row in axs for a in row]


def _tidy_log(ax) -> None:  # type: ignore[no-untyped-def]
    """Drop minor tick labels on a log axis spanning a decade or more (they collide); keep them on shorter spans."""
    for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() == "log" and min(lim) > 0 and math.log10(max(lim) / min(lim)) >= 1:
            axis.set_minor_formatter(NullFormatter())


def _grid(n: int, cols: int) -> tuple[int, int]:
    c = min(cols, n)
    return math.ceil(n / c), c


def _h_vs_sigma(f: Figure) -> MplFigure:
    ps: list[HSigmaPanel] = f.panels
    nr, nc = _grid(len(ps), 3 if len(ps) > 4 else 2)
    fig, axs = _new(nr, nc, 3.6, 3.0)
    for ax, p in zip(axs, ps, strict=False):
        ax.loglog(p.sigma, p.h, "o", ms=4, color=TYPE_COLOR.get(p.type, "k"), label="h_k (measured)")
        xs = np.geomspace(p.sigma.min(), p.sigma.max(), 50)
        ax.loglog(xs, np.exp(p.intercept) * xs**p.alpha, "-", color="k", lw=1.2, label=f"fit: α = {p.alpha:.2f}")
        ax.set_title(f"{p.network}\n{p.layer} ({p.type})")
        ax.set_xlabel("gradient singular value σ_k")
        ax.set_ylabel("curvature h_k = v_kᵀ H v_k")
        txt = f"α = {p.alpha:.2f}\nR² = {p.r2:.3f}\nn = {p.sigma.size}"
        if p.n_dropped:
            txt += f" ({p.n_dropped} non-positive left out)"
        ax.text(
            0.03, 0.97, txt, transform=ax.transAxes, va="top", fontsize=8, bbox={"fc": "white", "alpha": 0.8, "lw": 0}
        )
        ax.legend(loc="lower right")
        _tidy_log(ax)
    for ax in axs[len(ps) :]:
        ax.set_axis_off()
    return fig


def _alpha_triangle(f: Figure) -> MplFigure:
    p: TrianglePanel = f.panels[0]
    fig, (ax,) = _new(1, 1, 6.4, 6.0)
    cmap = matplotlib.colormaps["tab20" if len(p.sets) > 10 else "tab10"]
    allv = np.concatenate([np.concatenate([s.ag, s.s]) for s in p.sets])
    lo, hi = float(np.nanmin(allv)) * 0.9, float(np.nanmax(allv)) * 1.1
    xs = np.linspace(lo, hi, 10)
    ax.fill_between(xs, xs / 1.1, xs / 0.9, color="0.85", label="|s − αγ|/s ≤ 10 %", lw=0)
    ax.plot(xs, xs, "k-", lw=1, label="s = αγ")
    for i, s in enumerate(p.sets):
        ax.plot(s.ag, s.s, "o", ms=4.5, alpha=0.85, color=cmap(i % cmap.N), label=f"{s.network} (n={len(s.names)})")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("α · γ  (α from h vs σ, γ from σ vs k)")
    ax.set_ylabel("s  (decay of rank-ordered h_k)")
    ax.set_title(f.title)
    ax.text(
        0.03,
        0.97,
        f"n = {p.n} layers\nmedian |s − αγ|/s = {100 * p.median_relerr:.1f} %",
        transform=ax.transAxes,
        va="top",
        bbox={"fc": "white", "alpha": 0.85, "lw": 0},
    )
    ax.legend(loc="lower right")
    return fig


def _rank_curve(model: str, params: dict, k: np.ndarray) -> np.ndarray:
    lk = np.log(k)
    if model == "power_law":
        return np.exp(params["log_c"] - params["gamma"] * lk)
    if model == "exponential":
        return np.exp(params["log_c"] - params["b_exp"] * k)
    return np.exp(params["log_c"] + params["b"] * lk + params["a"] * lk**2)


def _rank_profiles(f: Figure) -> MplFigure:
    ranks: list[RankPanel] = [p for p in f.panels if isinstance(p, RankPanel)]
    counts = [p for p in f.panels if isinstance(p, WinCounts)]
    n = len(ranks) + len(counts)
    nr, nc = _grid(n, 2)
    fig, axs = _new(nr, nc, 3.9, 3.1)
    for ax, p in zip(axs, ranks, strict=False):
        k = np.arange(1, p.sigma.size + 1, dtype=float)
        use = np.isfinite(p.sigma) & (p.sigma > 0)
        ax.loglog(k[use], p.sigma[use], "o", ms=3.5, color="k", label="σ_k")
        kk = np.linspace(1, p.sigma.size, 200)
        for m in RANK_MODELS:
            lab = f"{MODEL_LABEL[m]}: BIC {p.fit.bic[m]:.1f}" + (" (winner)" if m == p.fit.winner else "")
            ax.loglog(
                kk,
                _rank_curve(m, p.fit.params[m], kk),
                "-",
                color=MODEL_COLOR[m],
                lw=2.2 if m == p.fit.winner else 1.1,
                label=lab,
            )
        ax.set_title(f"{p.network} · {p.layer}\n{MODEL_LABEL[p.fit.winner]} wins by ΔBIC = {p.margin:.1f}")
        ax.set_xlabel("rank k")
        ax.set_ylabel("gradient singular value σ_k")
        ax.legend(loc="lower left")
        _tidy_log(ax)
    if counts:
        ax = axs[len(ranks)]
        c = counts[0].counts
        groups = list(c)
        y = np.arange(len(groups))
        left = np.zeros(len(groups))
        for m in RANK_MODELS:
            v = np.array([c[g][m] for g in groups], dtype=float)
            ax.barh(y, v, left=left, color=MODEL_COLOR[m], label=MODEL_LABEL[m])
            left += v
        ax.set_yticks(y, groups)
        ax.invert_yaxis()
        ax.set_xlabel("layers won (lowest BIC, refitted from σ)")
        ax.set_title("BIC winners per file")
        ax.legend(loc="lower right")
        ax.grid(axis="y", visible=False)
    for ax in axs[n:]:
        ax.set_axis_off()
    return fig


def _phase_transition(f: Figure) -> MplFigure:
    ts: list[Trajectory] = f.panels
    nr, nc = _grid(len(ts), 2)
    fig, axs = _new(nr, nc, 4.2, 3.1)
    for ax, t in zip(axs, ts, strict=False):
        for m in RANK_MODELS:
            ax.plot(t.epochs, t.wins[m], "o-", color=MODEL_COLOR[m], label=MODEL_LABEL[m])
        ax.set_title(f"{t.label}\nwinners: {t.how}")
        ax.set_xlabel("training epoch")
        ax.set_ylabel("layers won (lowest BIC)")
        ax.set_xticks(t.epochs, [f"{e}\nn={n}" for e, n in zip(t.epochs, t.n_layers, strict=True)])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(-0.5, max(t.n_layers) + 0.5)
        ax.legend(loc="best")
    for ax in axs[len(ts) :]:
        ax.set_axis_off()
    return fig


def _alpha_vs_depth(f: Figure) -> MplFigure:
    ps: list[DepthPanel] = f.panels
    nr, nc = _grid(len(ps), 4 if len(ps) > 6 else 3)
    fig, axs = _new(nr, nc, 3.2, 2.5)
    seen: dict = {}
    for ax, p in zip(axs, ps, strict=False):
        x = np.arange(len(p.names))
        ax.axhspan(*BAND, color="0.85", lw=0)
        ax.axhline(2.0, color="0.4", lw=0.8)
        ax.plot(x, p.alpha, "-", color="0.7", lw=0.8)
        if p.lo is not None and p.hi is not None:  # replicated project network: 95 % interval per layer
            ax.errorbar(x, p.alpha, yerr=[p.alpha - p.lo, p.hi - p.alpha], fmt="none", ecolor="0.35", lw=0.8, capsize=2)
        for t in dict.fromkeys(p.types):
            sel = np.array([ty == t for ty in p.types])
            h = ax.plot(x[sel], p.alpha[sel], "o", ms=4, color=TYPE_COLOR.get(t, "k"), label=t)[0]
            seen.setdefault(t, h)
        ax.set_title(p.network)
        ax.set_xlabel("layer index (file order)")
        ax.set_ylabel("α")
    for ax in axs[len(ps) :]:
        ax.set_axis_off()
    fig.legend(
        list(seen.values()),
        list(seen.keys()),
        loc="outside lower center",
        ncol=min(len(seen), 9),
        title="layer type; band [1.85, 2.15]",
    )
    return fig


def _kron_quality(f: Figure) -> MplFigure:
    p: KronPanel = f.panels[0]
    r = correlations(p)
    fig, axs = _new(1, 2, 4.3, 3.6)
    cmap = matplotlib.colormaps["tab10"]
    for j, (fld, ylab) in enumerate((("slack", "Kronecker slack |1 − SoP/PoS| (median)"), ("r2", "R² of the α fit"))):
        ax = axs[j]
        for i, s in enumerate(p.sets):
            y = getattr(s, fld)
            head = s.control and "head" in s.label or "FC" in s.label
            style = {"marker": "x", "ms": 7, "mew": 2} if head else {"marker": "^", "ms": 5, "mfc": "none"}
            ax.plot(
                s.gap, y, ls="none", color=cmap(i), label=s.label, **(style if s.control else {"marker": "o", "ms": 5})
            )
            if len(s.names) <= 8 and not s.label.startswith("project"):
                for xx, yy, nm in zip(s.gap, y, s.names, strict=True):
                    ax.annotate(nm, (xx, yy), fontsize=6.5, xytext=(3, 3), textcoords="offset points")
        txt = f"Pearson r = {r[fld]:.2f} (conv layers)" if math.isfinite(r[fld]) else "r: fewer than 3 points"
        if fld in p.stored_r:
            txt += f"; stored r = {p.stored_r[fld]:.2f}"
        ax.set_title(txt)
        ax.set_xlabel("|α − 2|")
        ax.set_ylabel(ylab)
        ax.legend(loc="best")
    fig.suptitle(f.title)
    return fig


VERDICT_COLOR = {"holds": "#2ca02c", "fails": "#d62728", "inconclusive": "#e0a800"}


def _law_intervals(f: Figure) -> MplFigure:
    ps: list[LawPanel] = f.panels
    nr, nc = _grid(len(ps), 3)
    tall = max(len(p.units) for p in ps)
    fig, axs = _new(nr, nc, 4.2, 0.9 + 0.17 * tall)
    for ax, p in zip(axs, ps, strict=False):
        y = np.arange(len(p.units))[::-1]
        finite = [v for u in p.units for v in (u.lo, u.hi, u.point) if math.isfinite(v)]
        span = (min(finite), max(finite)) if finite else (0.0, 1.0)
        if p.band is not None:
            lo, hi, outside = p.band
            a = max(lo, span[0] - 1) if math.isfinite(lo) else span[0] - 1
            b = min(hi, span[1] + 1) if math.isfinite(hi) else span[1] + 1
            ax.axvspan(a, b, color="0.88", lw=0, hatch="//" if outside else None, fill=not outside)
        for yy, u in zip(y, p.units, strict=True):
            col = VERDICT_COLOR.get(u.verdict, "k")
            if u.frozen:
                ax.plot(u.point, yy, "s", ms=4, mfc="none", color=col)
            elif math.isfinite(u.lo) and math.isfinite(u.hi):
                ax.errorbar(
                    u.point, yy, xerr=[[u.point - u.lo], [u.hi - u.point]], fmt="o", ms=3.5, color=col, capsize=2
                )
        ax.set_yticks(y, [u.label[-38:] for u in p.units], fontsize=6)
        more = f" (first {len(p.units)} of {p.n_units} units)" if p.n_units > len(p.units) else ""
        ax.set_title(f"{p.claim}: {p.verdict}{more}", color=VERDICT_COLOR.get(p.verdict, "k"))
        ax.set_xlim(span[0] - 0.05 * (span[1] - span[0] + 1e-9), span[1] + 0.05 * (span[1] - span[0] + 1e-9))
    for ax in axs[len(ps) :]:
        ax.set_axis_off()
    fig.suptitle(f.title + " — green holds, red fails, amber inconclusive; squares: authors' values (no interval)")
    return fig


DRAW = {
    "fig1_h_vs_sigma": _h_vs_sigma,
    "fig2_alpha_triangle": _alpha_triangle,
    "fig3_rank_profiles": _rank_profiles,
    "fig4_phase_transition": _phase_transition,
    "fig5_alpha_vs_depth": _alpha_vs_depth,
    "fig6_kron_quality": _kron_quality,
    "fig7_law_intervals": _law_intervals,
}


def render(f: Figure, path: Path) -> None:
    """Write figure ``f`` (which must have data) to ``path`` as a PNG."""
    with matplotlib.rc_context(RC):
        fig = DRAW[f.key](f)
        fig.savefig(path, format="png", dpi=DPI)
