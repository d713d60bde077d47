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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from empirics.schema import CONV_TYPES
from theory.fits import RANK_MODELS, RankModels, fit_alpha, fit_rank_models

from ..bundle import FILE_KEYS, Bundle
from ..jsonpath import Node
from ..records import Layer, Network, final_checkpoints, networks, trajectories

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
#: Author files whose records keep per-layer σ and h arrays (CLAIMS.md §4).
ARRAY_KEYS = ("alpha_triangle", "hypothesis", "predictions", "conv_gap", "conv_gap_v2")
PROJECT = "sad-results/1 files"


@dataclass
class Figure:
    key: str  # file stem of the PNG
    title: str
    what: str  # what is drawn, one or two sentences
    needs: str  # what a folder must hold for this figure
    rule: str = ""  # which layers / networks are shown
    sources: list[str] = field(default_factory=list)  # "file → fields" actually used
    panels: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> bool:
        return not self.panels


def short(net: Network) -> str:
    """A network's display name: the block label for the authors' files, the file stem for project files."""
    return Path(net.file).stem if net.key == "project" else net.label


def _project(b: Bundle) -> list[Network]:
    return final_checkpoints(networks(b, "project"))


def _src(b: Bundle, key: str, fields: str) -> str:
    return f"{FILE_KEYS[key]} → {fields}" if key != "project" else f"{PROJECT} ({len(b.project)}) → {fields}"


def _finite(*xs: float) -> bool:
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


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


def _array_layers(b: Bundle) -> list[tuple[Network, Layer]]:
    nets = [n for k in ARRAY_KEYS for n in networks(b, k)] + _project(b)
    return [(n, lay) for n in nets for lay in n.layers if "sigma" in lay.extra and "h" in lay.extra]


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
        f.sources.append(_src(b, "alpha_triangle", "[block].results[name].sigma, h_exact"))
        return f
    cands = [(n, lay) for n, lay in _array_layers(b) if math.isfinite(lay.alpha)]
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
    f.sources += [_src(b, k, "layers[].sigma, h_exact" if k == "project" else "sigma, h_exact") for k in used]
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
    nets = [n for k in keys for n in networks(b, k)] + _project(b)
    for n in nets:
        lays = [lay for lay in n.layers if _finite(lay.alpha, lay.gamma, lay.s) and lay.s != 0]
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
        f.sources += [_src(b, k, fields[k]) for k in (*keys, "project") if k in used]
    return f


# -- 3. rank profiles with the three BIC models ------------------------------------------------------------
@dataclass
class RankPanel:
    network: str
    layer: str
    sigma: np.ndarray
    fit: RankModels
    margin: float  # BIC(runner-up) − BIC(winner)


@dataclass
class WinCounts:
    counts: dict[str, dict[str, int]]  # source → model → layers won


def _rmt_trained(b: Bundle) -> list[tuple[str, str, np.ndarray]]:
    root = b.node("rmt")
    if root is None:
        return []
    return [
        ("rmt[trained]", rec["name"].str(), rec["sigma"].arr())
        for rec in root["phase_1b_extended_trained"]["layers"].items()
    ]


def fig_rank_profiles(b: Bundle) -> Figure:
    f = Figure(
        "fig3_rank_profiles",
        "Rank profiles σ_k against k with the three BIC models",
        "Panels 1–3: σ_k against rank k (log–log) with the power-law (ln σ = c − γ ln k), exponential (ln σ = c − bk) and "
        "log-normal-in-rank (ln σ = c + b ln k + a ln²k) OLS fits of theory.fits.fit_rank_models; BIC = K ln(RSS/K) + p ln K. "
        "Last panel: how many layers each model wins, per file.",
        "per-layer gradient singular values σ_k (≥ 4): results_alpha_triangle / results_hypothesis / results_predictions / "
        "results_conv_gap(_v2) (sigma), results_rmt_gamma_spectrum.json (phase_1b_extended_trained.layers[].sigma), or "
        "sad-results/1 layers[].sigma",
        rule="for each model, the layer it wins by the largest BIC margin over the runner-up (the clearest example); "
        "counts over every layer with ≥ 4 positive σ (project runs: last checkpoint only)",
    )
    profiles: list[tuple[str, str, str, np.ndarray]] = []  # (group, network, layer, sigma)
    for n, lay in _array_layers(b):
        grp = (
            Path(n.file).stem if n.key == "project" else FILE_KEYS[n.key].removeprefix("results_").removesuffix(".json")
        )
        profiles.append((grp, short(n), lay.name, np.asarray(lay.extra["sigma"], dtype=float)))
    profiles += [("rmt (trained)", net, name, s) for net, name, s in _rmt_trained(b)]
    fits = [(g, net, name, sig, fit_rank_models(sig)) for g, net, name, sig in profiles]
    fits = [t for t in fits if t[4].ok]
    if not fits:
        return f
    counts: dict[str, dict[str, int]] = {}
    best: dict[str, RankPanel] = {}
    for g, net, name, sig, rm in fits:
        counts.setdefault(g, dict.fromkeys(RANK_MODELS, 0))[rm.winner] += 1
        others = sorted(v for m, v in rm.bic.items() if m != rm.winner)
        margin = others[0] - rm.bic[rm.winner] if others and math.isfinite(others[0]) else math.inf
        if rm.winner not in best or margin > best[rm.winner].margin:
            best[rm.winner] = RankPanel(net, name, sig, rm, margin)
    f.panels = [best[m] for m in RANK_MODELS if m in best]
    f.notes += [
        f"no layer in this folder is won by the {m.replace('_', ' ')} model" for m in RANK_MODELS if m not in best
    ]
    f.panels.append(WinCounts(counts))
    keys = {n.key for n, _ in _array_layers(b)}
    f.sources += [
        _src(b, k, "layers[].sigma" if k == "project" else "sigma") for k in (*ARRAY_KEYS, "project") if k in keys
    ]
    if b.has("rmt"):
        f.sources.append(_src(b, "rmt", "phase_1b_extended_trained.layers[].sigma"))
    return f


# -- 4. phase transition: BIC winners by epoch -----------------------------------------------------------
@dataclass
class Trajectory:
    label: str
    how: str  # where the winners come from
    epochs: list[int]
    wins: dict[str, list[int]]  # model → count per epoch
    n_layers: list[int]


def _count(winners: list[str]) -> dict[str, int]:
    c = dict.fromkeys(RANK_MODELS, 0)
    for w in winners:
        if w in c:
            c[w] += 1
    return c


def _traj(label: str, how: str, per_epoch: list[tuple[int, list[str]]]) -> Trajectory:
    per_epoch = sorted(per_epoch)
    counts = [_count(w) for _, w in per_epoch]
    return Trajectory(
        label,
        how,
        [e for e, _ in per_epoch],
        {m: [c[m] for c in counts] for m in RANK_MODELS},
        [len(w) for _, w in per_epoch],
    )


def _best_label(rec: Node) -> str:
    w = rec["best_model_bic"].str()
    if w not in RANK_MODELS:
        raise rec["best_model_bic"].error(f"unknown rank model {w!r}; one of {RANK_MODELS}")
    return w


def fig_phase_transition(b: Bundle) -> Figure:
    f = Figure(
        "fig4_phase_transition",
        "Rank-model phase transition: BIC winners by training epoch",
        "For each training trajectory in the folder, the number of layers whose rank profile is best described (lowest "
        "BIC) by the power law, the exponential or the log-normal-in-rank model, at each measured epoch. The paper's "
        "Fig. 4/App. K trajectory is VGG-16 on Tiny-ImageNet (results_vgg16_trajectory.json).",
        "a training trajectory: results_vgg16_trajectory.json (trajectory[].layers[].best_model_bic), "
        "results_rmt_gamma_spectrum.json (phase_2b_trajectory[].layers[].sigma), or sad-results/1 checkpoints of one "
        "run at ≥ 2 epochs (run.run_name, run.epoch, layers[].sigma)",
        rule="every trajectory in the folder; VGG-16 first",
    )
    v = b.node("vgg16")
    if v is not None:
        per = [(int(t["epoch"].num()), [_best_label(r) for r in t["layers"].items()]) for t in v["trajectory"].items()]
        f.panels.append(_traj("VGG-16 · Tiny-ImageNet (vgg16)", "stored per-layer best_model_bic", per))
        f.sources.append(
            _src(b, "vgg16", "trajectory[].epoch, trajectory[].layers[].best_model_bic (no σ stored: not refitted)")
        )
    r = b.node("rmt")
    if r is not None:
        per = [
            (int(t["epoch"].num()), [fit_rank_models(rec["sigma"].arr()).winner for rec in t["layers"].items()])
            for t in r["phase_2b_trajectory"].items()
        ]
        f.panels.append(_traj("ResNet-50 · Tiny-ImageNet (rmt)", "refitted from σ", per))
        f.sources.append(_src(b, "rmt", "phase_2b_trajectory[].epoch, layers[].sigma (BIC refitted)"))
    runs = {k: c for k, c in trajectories(networks(b, "project")).items() if len(c) >= 2}
    for run, ckpts in sorted(runs.items()):
        per = [
            (ep, [fit_rank_models(lay.extra["sigma"]).winner for lay in net.layers if "sigma" in lay.extra])
            for ep, net in ckpts
        ]
        f.panels.append(_traj(f"{ckpts[-1][1].arch} · {ckpts[-1][1].dataset} (run {run})", "refitted from σ", per))
    if runs:
        f.sources.append(_src(b, "project", "run.run_name, run.epoch, layers[].sigma (BIC refitted)"))
    return f


# -- 5. α against depth -----------------------------------------------------------------------------------
@dataclass
class DepthPanel:
    network: str
    names: list[str]
    types: list[str]
    alpha: np.ndarray


DEPTH_KEYS = ("alpha_triangle", "tiny", "in1k", "conv_gap_v2", "intrinsic_dim", "predictions", "hypothesis")


def fig_alpha_vs_depth(b: Bundle) -> Figure:
    f = Figure(
        "fig5_alpha_vs_depth",
        "α against depth",
        f"One panel per network: α of each layer against its position in the network (file order = forward order), "
        f"coloured by layer type; the shaded band is the paper's Fig. 5 band [{BAND[0]}, {BAND[1]}] around α = 2.",
        "per-layer α of a network with ≥ 3 layers: any of results_alpha_triangle, tiny_imagenet_alpha_map, "
        "imagenet1k_pretrained, conv_gap_v2, intrinsic_dim, predictions, hypothesis, or sad-results/1 files",
        rule="every network with ≥ 3 layers with a finite α (project runs: last checkpoint only); "
        "results_conv_gap.json is left out as it repeats the conv_gap_v2 layers",
    )
    nets = [n for k in DEPTH_KEYS for n in networks(b, k)] + _project(b)
    used = set()
    for n in nets:
        lays = [lay for lay in n.layers if math.isfinite(lay.alpha)]
        if len(lays) < 3:
            continue
        f.panels.append(
            DepthPanel(
                short(n), [lay.name for lay in lays], [lay.type for lay in lays], np.array([lay.alpha for lay in lays])
            )
        )
        used.add(n.key)
    f.sources += [
        _src(b, k, "per-layer α (refitted where σ/h arrays are stored)") for k in (*DEPTH_KEYS, "project") if k in used
    ]
    return f


# -- 6. Kronecker prediction quality against |α − 2| ------------------------------------------------------
@dataclass
class KronSet:
    label: str
    names: list[str]
    gap: np.ndarray  # |α − 2|
    slack: np.ndarray  # |1 − median concentration ratio|
    r2: np.ndarray  # R² of the α fit
    control: bool = False  # drawn, but not in r: FC/head controls, non-conv layers (the paper's r is over conv)


@dataclass
class KronPanel:
    sets: list[KronSet]
    stored_r: dict[str, float]  # the file's stored correlations, if any


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return math.nan
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def _median_ratio(node: Node) -> float:
    v = np.array([np.nan if x is None else x for x in node.arr()], dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan


def fig_kron_quality(b: Bundle) -> Figure:
    f = Figure(
        "fig6_kron_quality",
        "Kronecker prediction quality against |α − 2|",
        "Left: the Kronecker slack |1 − SoP/PoS| (per-layer median of the concentration ratio) against |α − 2|; right: "
        "the R² of the α fit against |α − 2|. r is the Pearson correlation over the conv layers, as in the paper's Fig. 6; "
        "FC/head controls (×) and other layer types (△) are drawn but left out of r.",
        "per-layer α with Kronecker concentration ratios: results_kfac_prediction.json (layers[].alpha_gap, "
        "kronecker_slack, r2_exact), results_conv_gap_v2.json (conv_results[].alpha_exact, concentration_ratio, "
        "r2_exact; fc_result), or sad-results/1 layers[].kron.concentration_ratio",
        rule="every layer with a concentration ratio (project runs: last checkpoint only)",
    )
    sets: list[KronSet] = []
    stored: dict[str, float] = {}
    kp = b.node("kfac_prediction")
    if kp is not None:
        lays = list(kp["layers"].items())
        sets.append(
            KronSet(
                "kfac_prediction (conv)",
                [r["name"].str() for r in lays],
                np.array([r["alpha_gap"].num() for r in lays]),
                np.array([r["kronecker_slack"].num() for r in lays]),
                np.array([r["r2_exact"].num() for r in lays]),
            )
        )
        stored = {
            "slack": kp["corr_alpha_gap_vs_kronecker_slack"].num(),
            "r2": kp["corr_alpha_gap_vs_r2_h_sigma"].num(),
        }
        f.sources.append(_src(b, "kfac_prediction", "layers[].alpha_gap, kronecker_slack, r2_exact; corr_* (stored r)"))
    cg = b.node("conv_gap_v2")
    if cg is not None:
        recs = [(r, False) for r in cg["conv_results"].items()] + [(cg["fc_result"], True)]
        for want_control in (False, True):
            if kp is not None and not want_control:
                continue  # kfac_prediction is derived from these conv rows; draw them once
            rs = [r for r, c in recs if c == want_control]
            sets.append(
                KronSet(
                    "conv_gap_v2 " + ("FC control" if want_control else "(conv)"),
                    [r["name"].str() for r in rs],
                    np.array([abs(r["alpha_exact"].num() - 2) for r in rs]),
                    np.array([abs(1 - _median_ratio(r["concentration_ratio"])) for r in rs]),
                    np.array([r["r2_exact"].num() for r in rs]),
                    control=want_control,
                )
            )
        f.sources.append(
            _src(b, "conv_gap_v2", "conv_results[] / fc_result: alpha_exact, concentration_ratio (median), r2_exact")
        )
    groups = {"conv": "project conv layers", "head": "project heads (control)", "other": "project other layers"}
    proj: dict[str, list[tuple[str, float, float, float]]] = {g: [] for g in groups}
    for n in _project(b):
        for lay in n.layers:
            k = lay.extra.get("kron")
            if k is None or not k.has("concentration_ratio") or not math.isfinite(lay.alpha):
                continue
            c = _median_ratio(k["concentration_ratio"])
            if math.isfinite(c):
                g = "conv" if lay.type in CONV_TYPES else "head" if lay.type == "head" else "other"
                proj[g].append((f"{short(n)}/{lay.name}", abs(lay.alpha - 2), abs(1 - c), lay.r2))
    for g, rows in proj.items():
        if rows:
            sets.append(
                KronSet(
                    groups[g],
                    [r[0] for r in rows],
                    np.array([r[1] for r in rows]),
                    np.array([r[2] for r in rows]),
                    np.array([r[3] for r in rows]),
                    control=g != "conv",
                )
            )
    if any(proj.values()):
        f.sources.append(
            _src(b, "project", "layers[].kron.concentration_ratio (median); α, R² refitted from sigma, h_exact")
        )
    if sets:
        f.panels.append(KronPanel(sets, stored))
    return f


def correlations(p: KronPanel) -> dict[str, float]:
    """Pearson r of slack and R² against |α − 2| over the non-control sets."""
    main = [s for s in p.sets if not s.control]
    if not main:
        return {"slack": math.nan, "r2": math.nan}
    g = np.concatenate([s.gap for s in main])
    return {
        "slack": _pearson(g, np.concatenate([s.slack for s in main])),
        "r2": _pearson(g, np.concatenate([s.r2 for s in main])),
    }


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
