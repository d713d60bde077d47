"""The report's rank-profile figures: σ_k with the three BIC rank models (App. G), and the BIC winners by epoch
(the phase transition of App. K and §8)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from theory.fits import RANK_MODELS, RankModels, fit_rank_models

from ..bundle import FILE_KEYS, Bundle
from ..jsonpath import Node
from ..records import networks, trajectories
from .figure import ARRAY_KEYS, Figure, array_layers, short, source


# -- 3. rank profiles with the three BIC models ------------------------------------------------------------
@dataclass
class RankPanel:
    r"""One rank-profile panel: a layer's :math:`\sigma_k`, its three BIC rank-model fits, and the BIC margin of the
    winner over the runner-up."""

    network: str
    layer: str
    sigma: np.ndarray
    fit: RankModels
    margin: float  # BIC(runner-up) − BIC(winner)


@dataclass
class WinCounts:
    """How many layers each rank model wins (lowest BIC), per source file."""

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
    r"""The paper's Fig. 3: :math:`\sigma_k` against :math:`k` with the power-law, exponential and log-normal-in-rank
    fits, for the clearest winner of each model, and the win counts per file."""
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
    for n, lay in array_layers(b):
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
    keys = {n.key for n, _ in array_layers(b)}
    f.sources += [
        source(b, k, "layers[].sigma" if k == "project" else "sigma") for k in (*ARRAY_KEYS, "project") if k in keys
    ]
    if b.has("rmt"):
        f.sources.append(source(b, "rmt", "phase_1b_extended_trained.layers[].sigma"))
    return f


# -- 4. phase transition: BIC winners by epoch -----------------------------------------------------------
@dataclass
class Trajectory:
    """One training trajectory's BIC winners: per epoch how many layers each rank model wins, and where the winners come
    from."""

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
    """The paper's Fig. 4: BIC winners by training epoch, for every trajectory in the folder (VGG-16 first)."""
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
            source(b, "vgg16", "trajectory[].epoch, trajectory[].layers[].best_model_bic (no σ stored: not refitted)")
        )
    r = b.node("rmt")
    if r is not None:
        per = [
            (int(t["epoch"].num()), [fit_rank_models(rec["sigma"].arr()).winner for rec in t["layers"].items()])
            for t in r["phase_2b_trajectory"].items()
        ]
        f.panels.append(_traj("ResNet-50 · Tiny-ImageNet (rmt)", "refitted from σ", per))
        f.sources.append(source(b, "rmt", "phase_2b_trajectory[].epoch, layers[].sigma (BIC refitted)"))
    runs = {k: c for k, c in trajectories(networks(b, "project")).items() if len(c) >= 2}
    for run, ckpts in sorted(runs.items()):
        per = [
            (ep, [fit_rank_models(lay.extra["sigma"]).winner for lay in net.layers if "sigma" in lay.extra])
            for ep, net in ckpts
        ]
        f.panels.append(_traj(f"{ckpts[-1][1].arch} · {ckpts[-1][1].dataset} (run {run})", "refitted from σ", per))
    if runs:
        f.sources.append(source(b, "project", "run.run_name, run.epoch, layers[].sigma (BIC refitted)"))
    return f
