r"""The data of the report's six figure types, pulled out of one results folder (numpy only; nothing drawn).

Each ``fig_*`` function returns a :class:`Figure`: its panels hold only numbers read from the folder (or
refitted from its raw arrays with :mod:`theory.fits`), ``sources`` names the files and fields used, and a
figure whose data the folder does not hold has no panels and says what it ``needs``. Nothing is invented:
no printed value of the paper is ever drawn as if it were data.

Which layers are shown is fixed by a rule stated in the figure's ``rule`` text. Project files
(``sad-results/1``) of one training run enter the cross-network figures through their last checkpoint only
(:func:`claims.records.final_checkpoints`); the earlier checkpoints enter the phase-transition figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from theory.fits import fit_alpha

from ..bundle import FILE_KEYS, Bundle
from ..context import Context
from ..records import Layer, Network, networks
from ..replicates import group_of
from ..uncertainty.judge import Region
from ..uncertainty.units import layer_units
from .figkron import fig_kron_quality
from .figrank import fig_phase_transition, fig_rank_profiles
from .figure import Figure, array_layers, finite, project_networks, short, source

#: α band of the paper's Fig. 5 ([1.85, 2.15]; CLAIMS.md §3.2).
BAND = (1.85, 2.15)
#: Fig. 1 panels of the paper: (alpha_triangle block, layer name).
FIG1_PANELS = (
    ("resnet18_triangle", "layer2.0.conv1"),
    ("resnet18_triangle", "fc"),
    ("gpt2_triangle", "block0.mlp.0"),
    ("vgg11_triangle", "features.0"),
)
#: Layer types in the order the generic h-vs-σ figure picks one representative of each.
TYPE_ORDER = ("conv", "head", "mlp_up", "dense", "attn_qkv", "attn_proj", "mlp_down", "downsample", "patch_embed")


@dataclass
# -- 1. h_k vs σ_k with the α fit -------------------------------------------------------------------------
@dataclass
class HSigmaPanel:
    network: str
    layer: str
    type: str
    sigma: np.ndarray  # positive pairs only
    h: np.ndarray
    n_dropped: int  # pairs with σ ≤ 0 or h ≤ 0 or non-finite (not in the fit)
    alpha: float
    intercept: float
    r2: float


def _hs_panel(net: Network, lay: Layer) -> HSigmaPanel | None:
    s = np.asarray(lay.extra["sigma"], dtype=float)
    h = np.array([np.nan if v is None else v for v in lay.extra["h"]], dtype=float)
    fa = fit_alpha(s, h)
    if not fa.ok:
        return None
    use = np.isfinite(s) & np.isfinite(h) & (s > 0) & (h > 0)
    return HSigmaPanel(short(net), lay.name, lay.type, s[use], h[use], int((~use).sum()), fa.alpha, fa.intercept, fa.r2)


def fig_h_vs_sigma(b: Bundle) -> Figure:
    f = Figure(
        "fig1_h_vs_sigma",
        "Curvature h_k against gradient singular value σ_k (log–log) with the α fit",
        "Each panel: the top-k directions of one layer, h_k = v_kᵀ H v_k against σ_k; the line is the OLS fit "
        "ln h = c + α ln σ over the pairs with σ > 0 and h > 0 (theory.fits.fit_alpha), refitted here from the raw arrays.",
        "per-layer σ and h arrays: results_alpha_triangle.json (sigma, h_exact), or results_hypothesis / "
        "results_predictions / results_conv_gap(_v2) (sigma, h_exact), or sad-results/1 layers[].sigma, h_exact",
    )
    if b.has("alpha_triangle"):
        f.rule = "the paper's Fig. 1 layers: ResNet-18 layer2.0.conv1 and fc, GPT-2 block0.mlp.0, VGG-11 features.0"
        for blk, name in FIG1_PANELS:
            nets = [n for n in networks(b, "alpha_triangle") if n.label == f"alpha_triangle[{blk}]"]
            lays = [lay for n in nets for lay in n.layers if lay.name == name]
            if nets and len(lays) == 1:
                p = _hs_panel(nets[0], lays[0])
                if p is not None:
                    f.panels.append(p)
            else:
                f.notes.append(f"Fig. 1 layer {blk} {name} not found in {FILE_KEYS['alpha_triangle']}")
        f.sources.append(source(b, "alpha_triangle", "[block].results[name].sigma, h_exact"))
        return f
    cands = [(n, lay) for n, lay in array_layers(b) if math.isfinite(lay.alpha)]
    f.rule = (
        "one layer per layer type (up to six types, in the order " + ", ".join(TYPE_ORDER) + "): the layer whose α is "
        "closest to the median α of that type over all networks with σ/h arrays (project runs: last checkpoint only)"
    )
    for t in TYPE_ORDER:
        of_t = [(n, lay) for n, lay in cands if lay.type == t]
        if not of_t or len(f.panels) == 6:
            continue
        med = float(np.median([lay.alpha for _, lay in of_t]))
        n, lay = min(of_t, key=lambda nl: abs(nl[1].alpha - med))
        p = _hs_panel(n, lay)
        if p is not None:
            f.panels.append(p)
    used = sorted({n.key for n, _ in cands})
    f.sources += [source(b, k, "layers[].sigma, h_exact" if k == "project" else "sigma, h_exact") for k in used]
    return f


# -- 2. s against αγ (the transfer identity, "alpha triangle") -----------------------------------------------
@dataclass
class TriangleSet:
    network: str
    names: list[str]
    ag: np.ndarray  # α·γ
    s: np.ndarray


@dataclass
class TrianglePanel:
    sets: list[TriangleSet]
    n: int
    median_relerr: float  # median |s − αγ| / s over all points


def fig_alpha_triangle(b: Bundle) -> Figure:
    f = Figure(
        "fig2_alpha_triangle",
        "The transfer identity s = αγ ('alpha triangle')",
        "Each point is one layer: the rank-ordered curvature decay s (vertical) against α·γ (horizontal); the diagonal "
        "is s = αγ, the shaded band ±10 %. The annotation gives n and the median relative error |s − αγ|/s.",
        "per-layer α, γ and s: results_alpha_triangle.json (sigma, h_exact), results_tiny_imagenet_alpha_map.json / "
        "results_imagenet1k_pretrained.json (alpha, gamma, s_hessian), or sad-results/1 layers[].sigma, h_exact",
        rule="every layer with a finite α, γ and s (project runs: last checkpoint only)",
    )
    sets, rel = [], []
    keys = ("alpha_triangle", "tiny", "in1k")
    nets = [n for k in keys for n in networks(b, k)] + project_networks(b)
    for n in nets:
        lays = [lay for lay in n.layers if finite(lay.alpha, lay.gamma, lay.s) and lay.s != 0]
        if not lays:
            continue
        sets.append(
            TriangleSet(
                short(n),
                [lay.name for lay in lays],
                np.array([lay.predicted_s for lay in lays]),
                np.array([lay.s for lay in lays]),
            )
        )
        rel += [lay.relerr for lay in lays]
    if sets:
        f.panels.append(TrianglePanel(sets, len(rel), float(np.median(rel))))
        used = {n.key for n in nets if any(short(n) == s.network for s in sets)}
        fields = {
            "alpha_triangle": "sigma, h_exact (α, γ, s refitted)",
            "tiny": "results[].alpha, gamma, s_hessian",
            "in1k": "results[].alpha, gamma, s_hessian",
            "project": "layers[].sigma, h_exact (α, γ, s refitted)",
        }
        f.sources += [source(b, k, fields[k]) for k in (*keys, "project") if k in used]
    return f


# -- 5. α against depth -----------------------------------------------------------------------------------
@dataclass
class DepthPanel:
    network: str
    names: list[str]
    types: list[str]
    alpha: np.ndarray
    lo: np.ndarray | None = None  # 95 % interval per layer (a replicated project network), else None
    hi: np.ndarray | None = None


DEPTH_KEYS = ("alpha_triangle", "tiny", "in1k", "conv_gap_v2", "intrinsic_dim", "predictions", "hypothesis")


def fig_alpha_vs_depth(b: Bundle) -> Figure:
    f = Figure(
        "fig5_alpha_vs_depth",
        "α against depth",
        f"One panel per network: α of each layer against its position in the network (file order = forward order), "
        f"coloured by layer type; the shaded band is the paper's Fig. 5 band [{BAND[0]}, {BAND[1]}] around α = 2.",
        "per-layer α of a network with ≥ 3 layers: any of results_alpha_triangle, tiny_imagenet_alpha_map, "
        "imagenet1k_pretrained, conv_gap_v2, intrinsic_dim, predictions, hypothesis, or sad-results/1 files",
        rule="every network with ≥ 3 layers with a finite α (project runs: last checkpoint only, the mean over "
        "its seeds × batches with the 95 % interval of each layer's α as an error bar where it was measured more "
        "than once); results_conv_gap.json is left out as it repeats the conv_gap_v2 layers",
    )
    nets = [n for k in DEPTH_KEYS for n in networks(b, k)] + project_networks(b)
    used = set()
    for n in nets:
        lays = [lay for lay in n.layers if math.isfinite(lay.alpha)]
        if len(lays) < 3:
            continue
        p = DepthPanel(
            short(n), [lay.name for lay in lays], [lay.type for lay in lays], np.array([lay.alpha for lay in lays])
        )
        g = group_of(b, n)
        if g is not None and len(g.cells) > 1:
            cis = [u.ci for u in layer_units(b, Context(), g, p.names, lambda x: x.alpha, Region()) if u.ci]
            p.lo, p.hi = np.array([c[0] for c in cis]), np.array([c[1] for c in cis])
        f.panels.append(p)
        used.add(n.key)
    f.sources += [
        source(b, k, "per-layer α (refitted where σ/h arrays are stored)")
        for k in (*DEPTH_KEYS, "project")
        if k in used
    ]
    return f


FIGURES = (
    fig_h_vs_sigma,
    fig_alpha_triangle,
    fig_rank_profiles,
    fig_phase_transition,
    fig_alpha_vs_depth,
    fig_kron_quality,
)


def all_figures(b: Bundle) -> list[Figure]:
    return [fn(b) for fn in FIGURES]
