"""App. E training dynamics: "conv layers converge to α ≈ 2 and the FC head's α decreases" as a law over every
measured training trajectory (project files of one ``run.run_name`` at ≥ 2 epochs), and the printed table,
which no file holds (NO DATA)."""

from __future__ import annotations

import math

import numpy as np

from empirics.schema import CONV_TYPES
from theory.fits import fit_alpha

from ..bundle import Bundle
from ..checks import Measure, all_ok, law, nodata
from ..context import Context
from ..model import Candidate
from ..perturb import rec_from_ref, set_alpha
from ..records import ref
from ..replicates import Replicated, trajectories
from ..stats import median
from ..uncertainty.judge import Group, Uncertainty, band, below
from ..uncertainty.resample import rows_median
from ..uncertainty.units import measurement_notes, population_unit, values_unit

CLAIMS = []


def _trajectories(b: Bundle) -> dict[str, list[tuple[int, Replicated]]]:
    """Project training runs with checkpoints at ≥ 2 distinct epochs: {run: [(epoch, network), ...]} (each
    checkpoint a replicated network: its seeds × batches)."""
    return {r: c for r, c in trajectories(b).items() if len(c) >= 2}


def _common(cps: list[tuple[int, Replicated]], types) -> list[str]:
    """Names of the layers of these types present, with a fitted α, at every checkpoint of one trajectory."""
    sets = [{x.name for x in g.point.of_type(*types) if math.isfinite(x.alpha)} for _, g in cps]
    return sorted(set.intersection(*sets)) if sets else []


def _head_change(first: Replicated, last: Replicated, name: str) -> np.ndarray:
    """Per cell of the last checkpoint: α(last) − α(first) of layer ``name``, paired by (seed, batch); NaN where
    the first checkpoint lacks that cell."""
    a0 = {(c.seed, c.batch): c.net.by_name(name).alpha for c in first.cells}
    return np.array([c.net.by_name(name).alpha - a0.get((c.seed, c.batch), np.nan) for c in last.cells])


def _trajectory(b: Bundle, ctx: Context) -> Measure:
    runs = _trajectories(b)
    if not runs:
        return Measure(None, "no training trajectory (≥ 2 checkpoints of one run) in any file")
    band_ = ctx.bands.exponent
    rows, refs, viol, cands, units, used = [], [], [], [], [], []
    for run, cps in runs.items():
        (e0, g0), (e1, g1) = cps[0], cps[-1]
        first, last = g0.point, g1.point
        conv, heads = _common(cps, CONV_TYPES), _common(cps, ("head",))
        if not conv or not heads:
            cands.append(Candidate(f"{run}: not judged (needs conv and head layers at every checkpoint)", None, 0))
            continue
        conv_last = median([last.by_name(c).alpha for c in conv])
        head_drop = [(h, first.by_name(h).alpha, last.by_name(h).alpha) for h in heads]
        ok_conv = abs(conv_last - 2.0) <= band_
        ok_head = all(a1 < a0 for _, a0, a1 in head_drop)
        rows.append((run, ok_conv and ok_head))
        refs += [ref(n, n.by_name(x)) for n in (first, last) for x in conv + heads]
        cands.append(
            Candidate(
                f"{run}: median conv α at epoch {e1} over {len(conv)} tracked layers; head α epoch {e0} → {e1}",
                [round(conv_last, 4)] + [f"{h}: {a0:.3f} → {a1:.3f}" for h, a0, a1 in head_drop],
                len(conv) + len(heads),
                ok_conv and ok_head,
            )
        )
        if not ok_conv:
            viol.append(f"{run}: median conv α at epoch {e1} = {conv_last:.3f} (|α − 2| > {band_})")
        viol += [f"{run}: head {h} α {a0:.3f} → {a1:.3f} (does not decrease)" for h, a0, a1 in head_drop if not a1 < a0]
        cu = population_unit(
            b,
            ctx,
            g1,
            conv,
            lambda x: x.alpha,
            rows_median,
            conv_last,
            band(2.0, band_),
            f"{run}: median conv α @ e{e1}",
        )
        hu = [
            values_unit(b, ctx, g1, _head_change(g0, g1, h), below(0.0), f"{run}: {h} α(e{e1}) − α(e{e0})")
            for h in heads
        ]
        units.append(Group(run, "every", [cu, *hu]))
        used.append(g1)
    if not rows:
        return Measure(
            None, "no trajectory with conv and head layers at every checkpoint", notes=[c.rule for c in cands]
        )
    return Measure(
        (sum(ok for _, ok in rows), len(rows)),
        "project training trajectories (same run.run_name, first vs last checkpoint; layers present at every checkpoint)",
        refs,
        cands,
        violators=viol,
        notes=[
            "value = (trajectories where it holds, trajectories)",
            "interval verdict: the last checkpoint's median conv α (seeds, batches, layers resampled) within the "
            "band, and every head's α change, paired by seed and batch, below 0",
        ],
        uncertainty=Uncertainty(Group("trajectories", "every", units), measurement_notes(used, True)),
    )


def _trajectory_perturb(docs, out):
    """Away: raise the last checkpoint's head α above its first; towards: conv α → 2 and head α → first − 0.5."""
    by_layer: dict[str, list[str]] = {}
    for r in out.records:  # per layer name: [first checkpoint's ref, last checkpoint's ref]
        by_layer.setdefault(r.rsplit("/", 1)[1], []).append(r)
    for rs in by_layer.values():
        first_rec, last_rec = rec_from_ref(docs, rs[0]), rec_from_ref(docs, rs[-1])
        a0 = fit_alpha(first_rec["sigma"], first_rec["h_exact"]).alpha
        is_head = first_rec["layer_type"] == "head"
        if out.verdict == "holds" and is_head:
            set_alpha(last_rec, a0 + 0.5)
        elif out.verdict != "holds":
            set_alpha(last_rec, a0 - 0.5 if is_head else 2.0)


CLAIMS.append(
    law(
        "appE.conv_converges_fc_decreases",
        "App. E",
        "during training conv layers converge to α ≈ 2 and FC (softmax head) α decreases",
        "qualitative",
        selection="every project training trajectory (≥ 2 checkpoints of one run.run_name); layers present at every checkpoint",
        measure=_trajectory,
        test=all_ok,
        tolerance="median conv α at the last checkpoint within ±{exponent} of 2, and every head's α lower than at the first",
        perturb=_trajectory_perturb,
    )
)

# -- NO DATA: the printed table (2 dp) ------------------------------------------------------------------------
for _lay, _vals6 in {
    "conv1": (1.45, 1.83, 1.78, 1.79, 1.79, 1.81),
    "layer2.conv2": (1.85, 1.89, 1.87, 1.99, 1.94, 2.12),
    "layer4.conv2": (1.90, 1.92, 1.98, 1.88, 1.80, 1.90),
    "fc": (1.99, 1.05, 1.33, 1.16, 1.31, 1.57),
}.items():
    for _ep, _v in zip((0, 1, 5, 10, 15, 20), _vals6, strict=True):
        CLAIMS.append(nodata(f"appE.{_lay}.e{_ep}", "App. E", f"{_lay} α at epoch {_ep} = {{printed}}", _v, 2))
