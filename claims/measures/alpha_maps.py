"""The ResNet-50 α maps (Tiny-ImageNet, ImageNet-1K pretrained): conv statistics under the stated selection
(sel. I for tiny: conv type without downsample; sel. B for in1k: conv + downsample) and the single FC row.
Printed in Table 1 and in §3; every other candidate rule of docs/claims-reference.md §2.11 is reported by ``show``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..bundle import Bundle
from ..checks import Measure, MeasureFn, claim
from ..context import Context
from ..model import Candidate, Claim, Perturb
from ..perturb import flip, named, rescale_about_mean, set_alpha, shift_alpha
from ..records import Layer, names, networks
from ..selections import SEL_B, SEL_I, sel_b, sel_i
from ..stats import mean, median, std
from ..tolerance import at_least, point

# (selection function, rules, stated rule, source label)
POP: dict[str, tuple[Callable[[Bundle, int], list[Layer]], dict[int, str], int, str]] = {
    "tiny": (sel_i, SEL_I, 1, "tiny → results[] (layer type conv, no downsample; sel. I rule 1)"),
    "in1k": (sel_b, SEL_B, 2, "in1k → results[] (layer type conv + downsample; sel. B rule 2)"),
}
STATS: dict[str, Callable[[list[Layer]], Any]] = {
    "mean": lambda layers: mean(lay.alpha for lay in layers),
    "median": lambda layers: median(lay.alpha for lay in layers),
    "std": lambda layers: std([lay.alpha for lay in layers], 0),
    "std1": lambda layers: std([lay.alpha for lay in layers], 1),
    "n": lambda layers: len(layers),
    "min_r2": lambda layers: min(lay.r2 for lay in layers),
}
#: the rule under which each file's summary was computed (tiny: summary "conv" = sel. I rule 1; in1k: the substring rule)
SUMMARY_RULE = {"tiny": 1, "in1k": 1}
SUMMARY = {  # the file's own summary field for each statistic (a candidate, never used for a verdict)
    ("tiny", "mean"): ("summary", "by_layer_type", "conv", "mean_alpha"),
    ("tiny", "median"): ("summary", "by_layer_type", "conv", "median_alpha"),
    ("tiny", "std"): ("summary", "by_layer_type", "conv", "std_alpha"),
    ("tiny", "n"): ("summary", "by_layer_type", "conv", "n"),
    ("in1k", "mean"): ("summary", "conv_mean_alpha"),
    ("in1k", "median"): ("summary", "conv_median_alpha"),
}
#: the printed numbers of each group (Table 1 + §3), checked jointly under every rule (docs/claims-reference.md §2.11)
JOINT = {
    "tiny": {"n": 49, "mean": 1.94, "median": 1.93, "std": 0.15, "min_r2": 0.88},
    "in1k": {"n": 14, "mean": 2.10, "median": 2.15, "std": 0.14, "min_r2": 0.97},
}


def conv_stat(key: str, stat: str) -> MeasureFn:
    """``stat`` of the conv α (or R²) of file ``key`` under its stated selection; candidates: the other rules,
    ddof 1 for the std, the file's own summary field."""
    sel, rules, stated, src = POP[key]

    def measure(b: Bundle, ctx: Context) -> Measure:
        layers = sel(b, stated)
        value = STATS[stat](layers)
        cands = [
            Candidate(f"sel. {rule}: {rules[rule]}", STATS[stat](sel(b, rule)), len(sel(b, rule)), same=True)
            for rule in rules
            if rule != stated
        ]
        if stat == "std":
            cands.append(Candidate("std with ddof 1", STATS["std1"](layers), len(layers), same=True))
        if (key, stat) in SUMMARY:
            node = b.need(key)
            for p in SUMMARY[(key, stat)]:
                node = node[p]
            rule = SUMMARY_RULE[key]
            cands.append(
                Candidate(f"file summary {node.path} (computed over sel. {rule})", node.num(), None, same=True)
            )
        return Measure(value, f"{src}", names(layers), cands, [joint_note(b, key)])

    return measure


def joint_note(b: Bundle, key: str) -> str:
    """Which selection rules reproduce all printed numbers of the group at once (n, mean, median, std, min R²)."""
    sel, rules, _, _ = POP[key]
    ok = []
    for r in rules:
        L = sel(b, r)
        if not L:
            continue
        checks = [len(L) == JOINT[key]["n"]] + [point(STATS[s](L), JOINT[key][s], 2) for s in ("mean", "median", "std")]
        checks.append(at_least(STATS["min_r2"](L), JOINT[key]["min_r2"], 2))
        if all(checks):
            ok.append(r)
    return f"joint check of n, mean, median, std, min R² ({key}): reproduced by rules {ok or 'none'}"


def _records(docs, key, out):
    return [named(docs[key]["results"], n) for n in out.records]


def _shift(key, delta_fn):
    """Shift every selected α by delta_fn(out) (moves mean and median by exactly that)."""

    def go(docs, out):
        for r in _records(docs, key, out):
            shift_alpha(r, delta_fn(out))

    return go


def _spread(key, c_fn):
    def go(docs, out):
        recs = _records(docs, key, out)
        for r, v in zip(recs, rescale_about_mean([r["alpha"] for r in recs], c_fn(out)), strict=True):
            set_alpha(r, v)

    return go


def _count(key, delta_fn):
    def go(docs, out):
        recs = docs[key]["results"]
        d = delta_fn(out)
        if d < 0:
            for n in out.records[:(-d)]:
                recs.remove(named(recs, n))
        else:
            first = named(recs, out.records[0])
            recs.extend(dict(first) for _ in range(d))

    return go


def _min_r2(key, printed):
    def away(docs, out):
        _records(docs, key, out)[0]["r2_alpha"] = printed - 0.05

    def toward(docs, out):
        for r in _records(docs, key, out):
            r["r2_alpha"] = max(r["r2_alpha"], printed)

    return flip(away, toward)


def conv_stat_perturb(key: str, stat: str, printed: float) -> Perturb:
    """Away from / towards the printed value for one conv statistic (docs/claims-reference.md §5 requirement 8)."""
    if stat in ("mean", "median"):
        return flip(_shift(key, lambda o: 0.1), _shift(key, lambda o: printed - o.measured))
    if stat == "std":
        return flip(_spread(key, lambda o: 1.5), _spread(key, lambda o: printed / o.measured))
    if stat == "n":
        return flip(_count(key, lambda o: -1), _count(key, lambda o: printed - o.measured))
    return _min_r2(key, printed)


def conv_stat_claim(
    cid: str, key: str, stat: str, printed: float, d: int | None, loc: str, stmt: str, form: str = "point"
) -> Claim:
    """One printed conv statistic of a ResNet-50 α map (Table 1 or §3)."""
    return claim(
        cid,
        loc,
        stmt,
        printed,
        form=form,
        d=d,
        files=(key,),
        selection=POP[key][3],
        measure=conv_stat(key, stat),
        perturb=conv_stat_perturb(key, stat, printed),
    )


def fc_alpha(key: str) -> MeasureFn:
    """α of the single fc.weight row (layer type head); the file's summary field is a candidate."""

    def measure(b: Bundle, ctx: Context) -> Measure:
        (net,) = networks(b, key)
        (fc,) = net.of_type("head")
        node = b.need(key)
        sv = node["summary"]["by_layer_type"]["fc"]["median_alpha"] if key == "tiny" else node["summary"]["fc_alpha"]
        cands = [Candidate(f"file summary {sv.path}", sv.num(), 1, same=True)]
        return Measure(fc.alpha, f"{key} → results[{fc.name}].alpha", [fc.name], cands)

    return measure


def fc_alpha_claim(cid: str, key: str, printed: float, loc: str, stmt: str) -> Claim:
    """The printed α of a ResNet-50 FC head (Table 1 or §3)."""

    def go(docs, out, delta):
        shift_alpha(named(docs[key]["results"], "fc.weight"), delta)

    return claim(
        cid,
        loc,
        stmt,
        printed,
        form="point",
        d=2,
        files=(key,),
        selection="the fc.weight row (layer type head)",
        measure=fc_alpha(key),
        perturb=flip(lambda d, o: go(d, o, 0.1), lambda d, o: go(d, o, printed - o.measured)),
    )
