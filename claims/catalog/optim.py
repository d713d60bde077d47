"""Table 3 and §7 (Spectral Newton vs AdamW), judged from the project's optimizer-comparison files
(``sad-optim/1``, written by ``python -m empirics compare``). The authors published no JSON for them.

* The printed cells (Table 3: 30 epochs, seed 42) and §7's gains are **number** claims about one
  experiment: evaluated only on a file whose architecture, real dataset and epochs match (seed 42's
  best test accuracy), else ``no data`` naming each file and its mismatch (:mod:`claims.optimdata`).
* "SN outperforms AdamW", "scalar per-layer scaling stays within seed noise / does not reproduce the SN
  gain" and "an SN step costs ≲ 1.8× a Muon step" are **law** readings that any complete comparison file
  judges. "Beats" means beyond seed noise: Δ = mean(SN) − mean(AdamW) > 0 and Δ > 2·SE, with
  SE = sqrt(s_a²/n_a + s_b²/n_b) and sample std (ddof 1); a file with < 2 seeds per config is not judged.
* The printed cost ratio ``s7.sn.cost`` stays in the NO DATA register: it is a property of the authors'
  unpublished implementation (THEORY G18: the algorithm is not specified), which the project's own
  implementation neither confirms nor refutes; ``s7.sn.cost.project`` judges the project's.
"""

from __future__ import annotations

import math

import numpy as np

from empirics.compare_schema import SCALAR_CONFIGS

from ..checks import Measure, claim, law
from ..lawcheck import all_networks_ok
from ..model import LAW, Candidate
from ..optimdata import (
    TABLE3,
    beats,
    complete_files,
    drift,
    has,
    incomplete_note,
    matching,
    node,
    raw_cfg,
    ref,
    seed_value,
    seeds,
    set_seeds,
)
from ..perturb import flip

CLAIMS = []
SEED = 42


def _like(values, n: int) -> list[float]:
    """``values`` if it has n entries, else n copies of its mean (seed lists must keep their length)."""
    vals = [float(v) for v in values]
    return vals if len(vals) == n else [float(np.mean(vals))] * n


def _split(r: str) -> tuple[str, str]:
    f, c = r.rsplit("/", 1)
    return f, c


def _set_seed42(docs, r: str, value: float) -> None:
    f, c = _split(r)
    nd = docs[f]["summary"][c]
    vals = list(nd["seeds"])
    vals[[int(s) for s in nd["seed_ids"]].index(SEED)] = value
    set_seeds(docs[f], c, vals)


def _seed42(docs, r: str) -> float:
    f, c = _split(r)
    nd = docs[f]["summary"][c]
    return float(nd["seeds"][[int(s) for s in nd["seed_ids"]].index(SEED)])


# -- Table 3 cells ---------------------------------------------------------------------------------------
def _cell(row: str, cfg: str):
    exp = TABLE3[row]

    def measure(b):
        files, why = matching(b, exp)
        if not files:
            return Measure(None, why)
        usable = [(d, seed_value(d, cfg, SEED)) for d in files if has(d, cfg)]
        usable = [(d, v) for d, v in usable if v is not None]
        if not usable:
            names = ", ".join(d.file for d in files)
            return Measure(None, f"{names} match {exp.label} but hold no {cfg} run with seed {SEED}")
        d, v = usable[0]
        s = seeds(d, cfg)
        cands = [Candidate(f"{d.file}: mean of {s.size} seeds", float(s.mean()), s.size, same=True)]
        cands += [Candidate(f"{d2.file}: seed {SEED}", v2, 1, same=True) for d2, v2 in usable[1:]]
        return Measure(
            v,
            f"{d.file} → summary.{cfg}: seed {SEED}'s best test accuracy (max over epochs)",
            [ref(d, cfg)],
            cands,
            drift(d, cfg),
        )

    return measure


for _row, (_a, _s) in {"rn18_c10": (92.7, 93.8), "rn18_c100": (71.5, 75.0), "rn50_c100": (72.6, 75.0)}.items():
    for _cfg, _p, _what in (("adamw", _a, "AdamW"), ("sn", _s, "Spectral Newton")):
        CLAIMS.append(
            claim(
                f"t3.{_row}.{_cfg}",
                "Table 3",
                f"{_row}: {_what} {{printed}} %",
                _p,
                form="point",
                d=1,
                files=(),
                selection=f"a comparison file of {TABLE3[_row].describe()}; seed {SEED}'s best test accuracy",
                measure=_cell(_row, _cfg),
                perturb=flip(
                    lambda d, o, p=_p: _set_seed42(d, o.records[0], p + 0.5),
                    lambda d, o, p=_p: _set_seed42(d, o.records[0], p),
                ),
            )
        )


# -- §7 gains (differences of the Table 3 cells) ----------------------------------------------------------
def _gain(b, row):
    files, why = matching(b, TABLE3[row])
    for d in files:
        if has(d, "sn") and has(d, "adamw"):
            a, s = seed_value(d, "adamw", SEED), seed_value(d, "sn", SEED)
            if a is not None and s is not None:
                return d, s - a, float(seeds(d, "sn").mean() - seeds(d, "adamw").mean())
    if files:
        why = f"{', '.join(d.file for d in files)} match {TABLE3[row].label} but lack sn/adamw runs with seed {SEED}"
    return None, why, None


def _gain10(b):
    d, g, gm = _gain(b, "rn18_c10")
    if d is None:
        return Measure(None, g)
    return Measure(
        g,
        f"{d.file}: SN − AdamW, seed {SEED} best test accuracy",
        [ref(d, "adamw"), ref(d, "sn")],
        [Candidate("difference of the seed means", gm, None, same=True)],
    )


def _set_gain(docs, refs, g):
    _set_seed42(docs, refs[1], _seed42(docs, refs[0]) + g)


CLAIMS.append(
    claim(
        "s7.sn.gains.cifar10",
        "§7",
        "SN gain +{printed} % on CIFAR-10",
        1.1,
        form="point",
        d=1,
        files=(),
        selection=f"{TABLE3['rn18_c10'].describe()}: SN − AdamW (seed {SEED})",
        measure=_gain10,
        perturb=flip(lambda d, o: _set_gain(d, o.records, 1.6), lambda d, o: _set_gain(d, o.records, 1.1)),
    )
)


def _gain100(b):
    rows, refs, cands, why = [], [], [], []
    for row in ("rn18_c100", "rn50_c100"):
        d, g, gm = _gain(b, row)
        if d is None:
            why.append(g)
            continue
        rows.append(g)
        refs += [ref(d, "adamw"), ref(d, "sn")]
        cands.append(Candidate(f"{row} ({d.file}): difference of the seed means", gm, None))
    if not rows:
        return Measure(None, "; ".join(why))
    if len(rows) == 2:
        cands.append(Candidate("the printed range as endpoints: (min, max)", (min(rows), max(rows)), 2))
    return Measure(
        rows,
        "SN − AdamW (seed 42) per CIFAR-100 row of Table 3 with a matching comparison file",
        refs,
        cands,
        notes=[f"not judged: {w}" for w in why],
    )


def _set_gains(docs, refs, g, first_only=False):
    pairs = list(zip(refs[::2], refs[1::2], strict=True))
    for a, s in pairs[:1] if first_only else pairs:
        _set_gain(docs, [a, s], g)


CLAIMS.append(
    claim(
        "s7.sn.gains.cifar100",
        "§7",
        "SN gain +{printed} % on CIFAR-100",
        (2.4, 3.5),
        form="into",
        d=1,
        files=(),
        selection="ResNet-18 and ResNet-50 CIFAR-100 (Table 3 rows with a matching file): SN − AdamW (seed 42)",
        measure=_gain100,
        perturb=flip(
            lambda d, o: _set_gains(d, o.records, 5.0, first_only=True), lambda d, o: _set_gains(d, o.records, 3.0)
        ),
    )
)


# -- law: SN outperforms AdamW at matched epoch budgets ---------------------------------------------------
def _describe(d) -> str:
    v = d.value
    return f"{d.file} ({v['model']} on {v['dataset']}, {v['n_epochs']} epochs)"


def _pair(b, cfg_a: str, cfg_b: str, need_both=True):
    """Complete files with ≥ 2 seeds of both configs, and notes for the others."""
    judged, notes = [], list(incomplete_note(b))
    for d in complete_files(b):
        if not (has(d, cfg_a) and has(d, cfg_b)):
            notes.append(f"not judged: {d.file} has no {cfg_a if not has(d, cfg_a) else cfg_b} config")
            continue
        a, c = seeds(d, cfg_a), seeds(d, cfg_b)
        if a.size < 2 or c.size < 2:
            notes.append(f"not judged: {d.file} has < 2 seeds of {cfg_a}/{cfg_b} (n = {a.size}/{c.size})")
            continue
        judged.append((d, a, c))
    return judged, notes


def _sn_vs_adamw(b):
    judged, notes = _pair(b, "adamw", "sn")
    if not judged:
        return Measure(None, "no complete comparison file with ≥ 2 seeds of both sn and adamw", notes=notes)
    ok_n, refs, cands, viol = 0, [], [], []
    for d, a, c in judged:
        ok, delta, se = beats(a, c)
        fa, fc = node(d, "adamw")["final"].arr(), node(d, "sn")["final"].arr()
        okf, df, sef = beats(fa, fc)
        ok_n += ok
        refs += [ref(d, "adamw"), ref(d, "sn")]
        cands.append(
            Candidate(
                f"{_describe(d)}: (Δ best, SE, n_adamw, n_sn)",
                (round(delta, 3), round(se, 3), a.size, c.size),
                a.size + c.size,
                ok,
            )
        )
        cands.append(Candidate(f"{d.file}: final-epoch accuracy (Δ, SE)", (round(df, 3), round(se, 3)), fa.size, okf))
        if not ok:
            viol.append(
                f"{_describe(d)}: Δ = {delta:+.2f} pp, 2·SE = {2 * se:.2f} pp (n = {a.size}/{c.size} seeds): "
                "SN does not beat AdamW beyond seed noise"
            )
        notes += drift(d, "adamw") + drift(d, "sn")
    return Measure(
        (ok_n, len(judged)),
        "per complete comparison file: seed means of the best test accuracy, SN vs AdamW",
        refs,
        cands,
        notes + ["value = (files where SN beats AdamW beyond seed noise, files judged)"],
        viol,
    )


def _by_file(refs):
    out: dict[str, dict[str, str]] = {}
    for r in refs:
        f, c = _split(r)
        out.setdefault(f, {})[c] = r
    return out


def _sn_away(docs, out):
    f, cfgs = next(iter(_by_file(out.records).items()))
    doc = docs[f]
    a, s = raw_cfg(doc, "adamw"), raw_cfg(doc, "sn")
    set_seeds(doc, s, _like([v - 1.0 for v in doc["summary"][a]["seeds"]], len(doc["summary"][s]["seeds"])))


def _sn_toward(docs, out):
    for f in _by_file(out.records):
        doc = docs[f]
        a, s = raw_cfg(doc, "adamw"), raw_cfg(doc, "sn")
        sv = np.asarray(doc["summary"][s]["seeds"], float)
        se = math.sqrt(2 * sv.var(ddof=1) / sv.size)
        set_seeds(doc, a, _like([v - 3 * se - 1.0 for v in sv], len(doc["summary"][a]["seeds"])))


CLAIMS.append(
    law(
        "t3.law.sn_outperforms_adamw",
        "§7.3; Table 3; Abstract",
        "Spectral Newton outperforms AdamW at matched epoch budgets",
        "SN > AdamW",
        selection="every complete sad-optim/1 file with ≥ 2 seeds of sn and adamw (same model, data, epochs, "
        "schedule and lr-search budget by construction): difference of seed means of the best test accuracy",
        measure=_sn_vs_adamw,
        test=all_networks_ok,
        tolerance="Δ = mean(SN) − mean(AdamW) > 0 and Δ > 2·SE, SE = sqrt(s_a²/n_a + s_b²/n_b) (ddof 1), in every file",
        perturb=flip(_sn_away, _sn_toward),
    )
)


# -- App. M laws: scalar per-layer scaling -------------------------------------------------------------------
def _scalars(d):
    return [c for c in SCALAR_CONFIGS if has(d, c) and seeds(d, c).size >= 1]


def _within(b):
    judged, notes = [], list(incomplete_note(b))
    for d in complete_files(b):
        sc = _scalars(d)
        if not has(d, "adamw") or not sc:
            notes.append(f"not judged: {d.file} has no adamw config or no scalar config")
            continue
        if seeds(d, "adamw").size < 2:
            notes.append(f"not judged: {d.file} has < 2 adamw seeds (no seed std)")
            continue
        judged.append((d, sc))
    if not judged:
        return Measure(
            None, "no complete comparison file with adamw (≥ 2 seeds) and a scalar per-layer config", notes=notes
        )
    ok_n, refs, cands, viol = 0, [], [], []
    for d, sc in judged:
        a = seeds(d, "adamw")
        sd = float(a.std(ddof=1))
        ds = {c: float(seeds(d, c).mean() - a.mean()) for c in sc}
        bad = {c: v for c, v in ds.items() if abs(v) > sd}
        ok_n += not bad
        refs += [ref(d, "adamw")] + [ref(d, c) for c in sc]
        cands.append(
            Candidate(
                f"{_describe(d)}: Δ vs AdamW (pp); AdamW seed std {sd:.3f}",
                {c: round(v, 3) for c, v in ds.items()},
                a.size,
                not bad,
            )
        )
        viol += [f"{d.file} {c}: |Δ| = {abs(v):.3f} pp > AdamW seed std {sd:.3f}" for c, v in bad.items()]
    return Measure(
        (ok_n, len(judged)),
        "per complete comparison file: |seed mean(config) − seed mean(AdamW)| vs the AdamW seed std (ddof 1)",
        refs,
        cands,
        notes + ["value = (files where every scalar config is within the AdamW seed std, files judged)"],
        viol,
    )


def _scalar_refs(refs):
    return {f: {c: r for c, r in cs.items() if c in SCALAR_CONFIGS} for f, cs in _by_file(refs).items()}


def _within_away(docs, out):
    f, cs = next(iter(_scalar_refs(out.records).items()))
    doc = docs[f]
    av = np.asarray(doc["summary"][raw_cfg(doc, "adamw")]["seeds"], float)
    sd = float(av.std(ddof=1))
    c = next(iter(cs))
    set_seeds(doc, c, _like([v - 2 * sd - 1.0 for v in av], len(doc["summary"][c]["seeds"])))


def _scalars_to_adamw(docs, out):
    for f, cs in _scalar_refs(out.records).items():
        doc = docs[f]
        av = list(doc["summary"][raw_cfg(doc, "adamw")]["seeds"])
        for c in cs:
            set_seeds(doc, c, _like(av, len(doc["summary"][c]["seeds"])))


CLAIMS.append(
    law(
        "appM.law.scalar_within_seed_var",
        "App. M (law reading)",
        "scalar per-layer learning-rate scaling η_ℓ ∝ (s_ℓ/s̄)^β (and its controls) stays within AdamW's seed variance",
        "|Δ| ≤ seed std",
        selection="every complete sad-optim/1 file with adamw (≥ 2 seeds) and App. M's scalar configs present "
        "(the authors' App. M file is judged by appM.within_seed_var)",
        measure=_within,
        test=all_networks_ok,
        tolerance="every scalar config's |Δ| ≤ the AdamW seed std (ddof 1), in every file",
        perturb=flip(_within_away, _scalars_to_adamw),
    )
)


def _no_repro(b):
    pairs, notes = _pair(b, "adamw", "sn")
    judged = []
    for d, a, c in pairs:
        ok, delta, se = beats(a, c)
        sc = [x for x in _scalars(d) if seeds(d, x).size >= 2]
        if not ok:
            notes.append(
                f"not judged: {d.file}: SN does not beat AdamW beyond seed noise (Δ = {delta:+.2f} pp, 2·SE = {2 * se:.2f}), "
                "so there is no improvement to reproduce"
            )
        elif not sc:
            notes.append(f"not judged: {d.file} has no scalar config with ≥ 2 seeds")
        else:
            judged.append((d, a, c, sc, delta))
    if not judged:
        return Measure(
            None, "no complete comparison file where SN beats AdamW and scalar configs were run", notes=notes
        )
    ok_n, refs, cands, viol = 0, [], [], []
    for d, a, _c, sc, delta in judged:
        rows = {x: beats(a, seeds(d, x)) for x in sc}
        repro = [x for x, (ok, _, _) in rows.items() if ok]
        ok_n += not repro
        refs += [ref(d, "adamw"), ref(d, "sn")] + [ref(d, x) for x in sc]
        cands.append(
            Candidate(
                f"{_describe(d)}: SN Δ = {delta:+.3f}; per scalar config (Δ, SE)",
                {x: (round(v[1], 3), round(v[2], 3)) for x, v in rows.items()},
                len(sc),
                not repro,
            )
        )
        viol += [f"{d.file} {x}: beats AdamW by {rows[x][1]:+.2f} pp > 2·SE = {2 * rows[x][2]:.2f}" for x in repro]
    return Measure(
        (ok_n, len(judged)),
        "per complete comparison file where SN beats AdamW: does any scalar config beat AdamW by the same criterion?",
        refs,
        cands,
        notes + ["value = (files where no scalar config beats AdamW beyond seed noise, files judged)"],
        viol,
    )


def _repro_away(docs, out):
    f, cs = next(iter(_scalar_refs(out.records).items()))
    doc = docs[f]
    c = next(iter(cs))
    set_seeds(doc, c, _like(doc["summary"][raw_cfg(doc, "sn")]["seeds"], len(doc["summary"][c]["seeds"])))


CLAIMS.append(
    law(
        "appM.law.scalar_does_not_reproduce_sn_gain",
        "App. M; §7 (law reading)",
        "scalar per-layer scaling does not reproduce Spectral Newton's improvement over AdamW",
        "no scalar gain",
        selection="every complete sad-optim/1 file where SN beats AdamW beyond seed noise (else not judged)",
        measure=_no_repro,
        test=all_networks_ok,
        tolerance="no scalar config has Δ > 0 and Δ > 2·SE vs AdamW (the criterion under which SN beats it), in every file",
        perturb=flip(_repro_away, _scalars_to_adamw),
    )
)


# -- cost of an SN step vs a Muon step (the project's implementation) ---------------------------------------
def _cost(b):
    judged, notes = [], list(incomplete_note(b))
    for d in complete_files(b):
        if not (has(d, "sn") and has(d, "muon")):
            notes.append(f"not judged: {d.file} has no sn or muon config")
            continue
        sn, mu = node(d, "sn"), node(d, "muon")
        if sn["sec_per_opt_step"].value is None or mu["sec_per_opt_step"].value in (None, 0):
            notes.append(f"not judged: {d.file} has no step timing")
            continue
        judged.append((d, sn, mu))
    if not judged:
        return Measure(None, "no complete comparison file with timed sn and muon steps", notes=notes)
    ok_n, refs, cands, viol = 0, [], [], []
    for d, sn, mu in judged:
        r = sn["sec_per_opt_step"].num() / mu["sec_per_opt_step"].num()
        full = sn["sec_per_step"].num() / mu["sec_per_step"].num()
        ok = round(r, 1) <= 1.8
        ok_n += ok
        refs += [ref(d, "sn"), ref(d, "muon")]
        dev = d.value.get("device", "?")
        cands.append(Candidate(f"{_describe(d)} on {dev}: optimizer.step() ratio", round(r, 3), None, ok))
        cands.append(Candidate(f"{d.file}: full training step ratio (forward + backward + step)", round(full, 3), None))
        if not ok:
            viol.append(f"{d.file}: SN step / Muon step = {r:.2f} (> 1.8) on {dev}")
    return Measure(
        (ok_n, len(judged)),
        "per complete comparison file: median optimizer.step() wall-clock of SN / of Muon (same model and device)",
        refs,
        cands,
        notes
        + [
            "value = (files with round(ratio, 1) ≤ 1.8, files judged)",
            "this judges the project's implementation (empirics.optim); the printed ∼1.8× (s7.sn.cost) is the authors'",
        ],
        viol,
    )


def _set_cost(docs, out, factor, first_only):
    files = _by_file(out.records)
    for f in list(files)[:1] if first_only else files:
        doc = docs[f]
        s, m = raw_cfg(doc, "sn"), raw_cfg(doc, "muon")
        doc["summary"][s]["sec_per_opt_step"] = factor * doc["summary"][m]["sec_per_opt_step"]


CLAIMS.append(
    law(
        "s7.sn.cost.project",
        "§7 (law reading; the project's implementation)",
        "a Spectral Newton step costs at most the printed ∼1.8× a Muon step",
        "≤ 1.8×",
        selection="every complete sad-optim/1 file with sn and muon: median optimizer.step() seconds, SN / Muon",
        measure=_cost,
        test=all_networks_ok,
        tolerance="round(ratio, 1) ≤ 1.8 in every file (one-sided: a cheaper SN also holds)",
        perturb=flip(lambda d, o: _set_cost(d, o, 3.0, True), lambda d, o: _set_cost(d, o, 1.0, False)),
    )
)

assert all(c.kind == LAW for c in CLAIMS if ".law." in c.id)
