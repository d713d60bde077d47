"""Table 1 and §3 claims on the two ResNet-50 α maps (Tiny-ImageNet, ImageNet-1K pretrained).

Selections: sel. I (tiny: conv type without downsample, stated) and sel. B (in1k: conv + downsample
type, stated); every other candidate rule of CLAIMS.md §2.11 is reported by ``show``.
"""

from __future__ import annotations

from ..checks import Measure, claim, mean, median, names, std
from ..model import Candidate
from ..perturb import flip, named, rescale_about_mean, set_alpha, shift_alpha
from ..records import networks
from ..selections import SEL_B, SEL_I, sel_b, sel_i

CLAIMS = []

# (key, selection function, rules, stated rule, location label)
POP = {
    "tiny": (sel_i, SEL_I, 1, "tiny → results[] (layer type conv, no downsample; sel. I rule 1)"),
    "in1k": (sel_b, SEL_B, 2, "in1k → results[] (layer type conv + downsample; sel. B rule 2)"),
}
STATS = {
    "mean": lambda layers: mean(lay.alpha for lay in layers),
    "median": lambda layers: median(lay.alpha for lay in layers),
    "std": lambda layers: std([lay.alpha for lay in layers], 0),
    "std1": lambda layers: std([lay.alpha for lay in layers], 1),
    "n": lambda layers: len(layers),
    "min_r2": lambda layers: min(lay.r2 for lay in layers),
}
#: the rule under which each file's summary was computed (tiny: summary "conv" = sel. I rule 1; in1k: the substring rule)
SUMMARY_RULE = {"tiny": 1, "in1k": 1}
SUMMARY = {  # the file's own summary field for each statistic (cross-checked, never used for a verdict)
    ("tiny", "mean"): ("summary", "by_layer_type", "conv", "mean_alpha"),
    ("tiny", "median"): ("summary", "by_layer_type", "conv", "median_alpha"),
    ("tiny", "std"): ("summary", "by_layer_type", "conv", "std_alpha"),
    ("tiny", "n"): ("summary", "by_layer_type", "conv", "n"),
    ("in1k", "mean"): ("summary", "conv_mean_alpha"),
    ("in1k", "median"): ("summary", "conv_median_alpha"),
}


def _measure(key: str, stat: str):
    sel, rules, stated, src = POP[key]

    def measure(b) -> Measure:
        layers = sel(b, stated)
        value = STATS[stat](layers)
        cands = [
            Candidate(f"sel. {rule}: {rules[rule]}", STATS[stat](sel(b, rule)), len(sel(b, rule)), same=True)
            for rule in rules
            if rule != stated
        ]
        if stat == "std":
            cands.append(Candidate("std with ddof 1", STATS["std1"](layers), len(layers), same=True))
        notes = []
        if (key, stat) in SUMMARY:
            node = b.need(key)
            for p in SUMMARY[(key, stat)]:
                node = node[p]
            sv = node.num()
            rule = SUMMARY_RULE[key]
            own = STATS[stat](sel(b, rule))
            cands.append(Candidate(f"file summary {node.path} (computed over sel. {rule})", sv, None, same=True))
            if abs(sv - own) > 1e-9:
                notes.append(f"summary drift: {node.path} = {sv:.6g}, recomputed from the rows (sel. {rule}) {own:.6g}")
        notes.append(_joint(b, key))
        return Measure(value, f"{src}", names(layers), cands, notes)

    return measure


#: the printed numbers of each group (Table 1 + §3), checked jointly under every rule (CLAIMS.md §2.11)
JOINT = {
    "tiny": {"n": 49, "mean": 1.94, "median": 1.93, "std": 0.15, "min_r2": 0.88},
    "in1k": {"n": 14, "mean": 2.10, "median": 2.15, "std": 0.14, "min_r2": 0.97},
}


def _joint(b, key) -> str:
    from ..tolerance import at_least, point

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


def _perturb(key, stat, printed):
    if stat in ("mean", "median"):
        return flip(_shift(key, lambda o: 0.1), _shift(key, lambda o: printed - o.measured))
    if stat == "std":
        return flip(_spread(key, lambda o: 1.5), _spread(key, lambda o: printed / o.measured))
    if stat == "n":
        return flip(_count(key, lambda o: -1), _count(key, lambda o: printed - o.measured))
    return _min_r2(key, printed)


def _add(cid, key, stat, printed, d, loc, stmt, form="point"):
    CLAIMS.append(
        claim(
            cid,
            loc,
            stmt,
            printed,
            form=form,
            d=d,
            files=(key,),
            selection=POP[key][3],
            measure=_measure(key, stat),
            perturb=_perturb(key, stat, printed),
        )
    )


# Table 1 rows
_add("t1.tiny.conv.mean_alpha", "tiny", "mean", 1.94, 2, "Table 1", "ResNet-50 Tiny-ImageNet conv: mean α = 1.94")
_add("t1.tiny.conv.std_alpha", "tiny", "std", 0.15, 2, "Table 1", "ResNet-50 Tiny-ImageNet conv: std α = 0.15 (ddof 0)")
_add("t1.tiny.conv.n", "tiny", "n", 49, None, "Table 1", "ResNet-50 Tiny-ImageNet conv: n = 49", "count")
_add("t1.in1k.conv.mean_alpha", "in1k", "mean", 2.10, 2, "Table 1", "ResNet-50 ImageNet-1K conv: mean α = 2.10")
_add("t1.in1k.conv.std_alpha", "in1k", "std", 0.14, 2, "Table 1", "ResNet-50 ImageNet-1K conv: std α = 0.14 (ddof 0)")
_add("t1.in1k.conv.n", "in1k", "n", 14, None, "Table 1", "ResNet-50 ImageNet-1K conv: n = 14", "count")
# §3 text
_add("s3.tiny.conv.median_alpha", "tiny", "median", 1.93, 2, "§3", "Tiny-ImageNet conv median α = 1.93")
_add("s3.tiny.conv.n", "tiny", "n", 49, None, "§3", "Tiny-ImageNet: 49 conv layers", "count")
_add("s3.tiny.conv.min_r2", "tiny", "min_r2", 0.88, 2, "§3", "Tiny-ImageNet conv fits: R² ≥ 0.88", "ge")
_add("s3.in1k.conv.n", "in1k", "n", 14, None, "§3", "ImageNet-1K: 14 conv layers", "count")
_add("s3.in1k.conv.median_alpha", "in1k", "median", 2.15, 2, "§3", "ImageNet-1K conv median α = 2.15")
_add("s3.in1k.conv.min_r2", "in1k", "min_r2", 0.97, 2, "§3", "ImageNet-1K conv fits: R² ≥ 0.97", "ge")


# single fc rows
def _fc(key):
    def measure(b) -> Measure:
        (net,) = networks(b, key)
        (fc,) = net.of_type("head")
        cands = []
        node = b.need(key)
        sv = node["summary"]["by_layer_type"]["fc"]["median_alpha"] if key == "tiny" else node["summary"]["fc_alpha"]
        cands.append(Candidate(f"file summary {sv.path}", sv.num(), 1, same=True))
        notes = (
            []
            if abs(sv.num() - fc.alpha) < 1e-9
            else [f"summary drift: {sv.path} = {sv.num():.6g} vs row {fc.alpha:.6g}"]
        )
        return Measure(fc.alpha, f"{key} → results[{fc.name}].alpha", [fc.name], cands, notes)

    return measure


def _fc_perturb(key, printed):
    def go(docs, out, delta):
        shift_alpha(named(docs[key]["results"], "fc.weight"), delta)

    return flip(lambda d, o: go(d, o, 0.1), lambda d, o: go(d, o, printed - o.measured))


for _cid, _key, _p, _loc, _st in (
    ("t1.tiny.fc.alpha", "tiny", 0.90, "Table 1", "ResNet-50 Tiny-ImageNet FC (200 classes): α = 0.90"),
    ("t1.in1k.fc.alpha", "in1k", 2.83, "Table 1", "ResNet-50 ImageNet-1K FC (1000 classes): α = 2.83"),
    ("s3.fc.alpha_200_vs_1000.tiny", "tiny", 0.90, "§3", "FC α: 0.90 with 200 classes (vs 2.83 with 1000)"),
    ("s3.fc.alpha_200_vs_1000.in1k", "in1k", 2.83, "§3", "FC α: 2.83 with 1000 classes (vs 0.90 with 200)"),
):
    CLAIMS.append(
        claim(
            _cid,
            _loc,
            _st,
            _p,
            form="point",
            d=2,
            files=(_key,),
            selection="the fc.weight row (layer type head)",
            measure=_fc(_key),
            perturb=_fc_perturb(_key, _p),
        )
    )
