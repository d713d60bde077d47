"""App. M scalar spectral preconditioner (ResNet-18 CIFAR-10, Adam, 100 epochs): the printed means and
differences, recomputed from the per-seed accuracies (sel. G; the stored means are cross-checked by
:mod:`claims.integrity`), and the two law readings judged on the project's comparison files. This file is
App. M's and is never used for Table 3 (Spectral Newton).

Source: the authors' App. M file when present (exactly as before); otherwise a project comparison file
(``sad-optim/1``) of the same experiment (ResNet-18, real CIFAR-10, 100 epochs; :data:`claims.optimdata.APP_M`),
whose ``adamw`` config stands for ``adam_baseline``; otherwise ``no data`` naming each file's mismatch."""

from __future__ import annotations

import numpy as np

from ..bundle import Bundle
from ..checks import Measure, MeasureFn, all_ok, claim, law
from ..context import Context
from ..measures.optimizers import (
    config_groups,
    describe,
    diff_unit,
    like,
    pair,
    scalar_configs,
    scalar_refs,
    scalars_to_adamw,
)
from ..model import HOLDS, Candidate
from ..optimdata import (
    APP_M,
    beats,
    cfg_name,
    complete_files,
    has,
    incomplete_note,
    matching,
    raw_cfg,
    ref,
    seeds,
    set_seeds,
)
from ..perturb import flip
from ..uncertainty.judge import above, band

CLAIMS = []
CONFIGS = ("spectral_beta05", "spectral_beta10", "spectral_beta15", "inverse_spectral", "random_perlayer")


class _Src:
    """The App. M data: the authors' file (label "precond", records are config names) or a project file."""

    def __init__(self, doc, label: str, project: bool):
        self.doc, self.label, self.project = doc, label, project

    def cfg(self, cfg: str):
        key = cfg_name(self.doc, cfg) if self.project else cfg
        if key is None:
            raise self.doc["summary"].error(f"no config {cfg!r}", f"{self.doc['summary'].path}.{cfg}")
        return self.doc["summary"][key]

    def rec(self, cfg: str) -> str:
        return f"{self.doc.file}/{cfg_name(self.doc, cfg) or cfg}" if self.project else cfg


def _src(b: Bundle) -> tuple[_Src | None, str]:
    """The App. M source, or (None, reason) when neither the authors' file nor a matching project file exists."""
    if b.has("precond"):
        return _Src(b.need("precond"), "precond", False), ""
    files, why = matching(b, APP_M)
    if not files:
        return None, "missing: results_preconditioner_summary.json; " + why
    return _Src(files[0], files[0].file, True), ""


def _nodata(measure) -> MeasureFn:
    """The measure on the App. M source, or ``no data`` with the reason when there is none."""

    def go(b: Bundle, ctx: Context) -> Measure:
        src, why = _src(b)
        return Measure(None, why) if src is None else measure(b, src)

    return go


def _seeds(src, cfg):
    return src.cfg(cfg)["seeds"].arr()


def _target(docs, out, cfg):
    """(raw document, summary key) that a perturbation of ``cfg`` edits."""
    refs = [r for r in out.records if "/" in r]
    if not refs:
        return docs["precond"], cfg
    doc = docs[refs[0].rsplit("/", 1)[0]]
    return doc, raw_cfg(doc, cfg)


def _mean(cfg):
    @_nodata
    def measure(b, src):
        node = src.cfg(cfg)
        s = node["seeds"].arr()
        sv = node["mean_best"].num()
        sd = node["std_best"].num()
        ddofs = [k for k in (0, 1) if abs(sd - float(s.std(ddof=k))) <= 0.005]
        notes = [
            f"std_best = {sd} matches the seed std with ddof {ddofs or 'neither'} "
            f"(ddof 0: {s.std(ddof=0):.4f}, ddof 1: {s.std(ddof=1):.4f})"
        ]
        return Measure(
            float(s.mean()),
            f"{src.label} → {node.path}.seeds: mean of {s.size} seeds",
            [src.rec(cfg)],
            [Candidate("stored mean_best", sv, None, same=True)],
            notes,
        )

    return measure


def _delta(cfg):
    @_nodata
    def measure(b, src):
        a, c = _seeds(src, "adam_baseline"), _seeds(src, cfg)
        stored = src.cfg(cfg)["mean_best"].num() - src.cfg("adam_baseline")["mean_best"].num()
        return Measure(
            float(c.mean() - a.mean()),
            f"{src.label}: seed mean({cfg}) − seed mean(adam_baseline)",
            [src.rec(cfg), src.rec("adam_baseline")],
            [Candidate("from the stored rounded means", stored, None, same=True)],
        )

    return measure


def _bump(cfg, fn):
    def go(docs, out):
        doc, key = _target(docs, out, cfg)
        node = doc["summary"][key]
        node["seeds"] = [v + fn(out) for v in node["seeds"]]
        node["mean_best"] = float(np.mean(node["seeds"]))

    return go


for _cfg, _key, _p in (
    ("adam_baseline", "adam", 93.85),
    ("spectral_beta10", "beta10", 93.90),
    ("spectral_beta15", "beta15", 93.96),
):
    CLAIMS.append(
        claim(
            f"appM.{_key}.mean",
            "App. M",
            f"{_cfg} mean best accuracy {_p:.2f} %",
            _p,
            form="point",
            d=2,
            files=(),
            selection="mean of the seeds (sel. G); the authors' file, else a project file of App. M's experiment",
            measure=_mean(_cfg),
            perturb=flip(_bump(_cfg, lambda o: 0.05), _bump(_cfg, lambda o, p=_p: p - o.measured)),
        )
    )
for _cfg, _key, _p in (("spectral_beta10", "beta10", 0.05), ("spectral_beta15", "beta15", 0.11)):
    CLAIMS.append(
        claim(
            f"appM.{_key}.delta",
            "App. M",
            f"{_cfg} − Adam = +{_p:.2f}",
            _p,
            form="point",
            d=2,
            files=(),
            selection="difference of seed means (the stored-means reading is a candidate)",
            measure=_delta(_cfg),
            perturb=flip(_bump(_cfg, lambda o: 0.05), _bump(_cfg, lambda o, p=_p: p - o.measured)),
        )
    )


@_nodata
def _maxd(b, src):
    a = _seeds(src, "adam_baseline").mean()
    ds = {c: float(_seeds(src, c).mean() - a) for c in CONFIGS}
    worst = max(ds, key=lambda c: abs(ds[c]))
    return Measure(
        abs(ds[worst]),
        f"{src.label}: max over the five configs of |seed mean − Adam seed mean|",
        [src.rec(c) for c in CONFIGS],
        [Candidate("per config Δ", {c: round(v, 3) for c, v in ds.items()}, None)],
        [f"largest: {worst}"],
    )


CLAIMS.append(
    claim(
        "appM.max_abs_delta",
        "App. M",
        "differs from Adam by at most ∼0.2 %",
        0.2,
        form="pred",
        d=1,
        files=(),
        selection="all five configs, |Δ| of seed means",
        measure=_maxd,
        test=lambda v, ctx: round(v, 1) <= 0.2 + 1e-12,
        tolerance="round(max |Δ|, 1) ≤ 0.2 (quantified over all five configs)",
        perturb=flip(_bump("random_perlayer", lambda o: 0.5), _bump("random_perlayer", lambda o: 0.0)),
    )
)


@_nodata
def _seedvar(b, src):
    a = _seeds(src, "adam_baseline")
    sd = float(a.std(ddof=1))
    ds = {c: float(_seeds(src, c).mean() - a.mean()) for c in CONFIGS}
    st = src.cfg("adam_baseline")["std_best"].num()
    return Measure(
        (sum(abs(v) <= sd for v in ds.values()), len(ds)),
        f"|Δ| vs the Adam seed std (ddof 1) = {sd:.3f}" + ("" if not src.project else f" ({src.label})"),
        [src.rec(c) for c in CONFIGS],
        [
            Candidate("Adam seed std ddof 0", float(a.std(ddof=0)), a.size),
            Candidate("stored adam std_best", st, None, same=True),
        ],
        violators=[f"{c}: |Δ| = {abs(v):.3f}" for c, v in ds.items() if abs(v) > sd],
        notes=["value = (# configs with |Δ| ≤ Adam seed std, n)"],
    )


CLAIMS.append(
    claim(
        "appM.within_seed_var",
        "App. M",
        "all differences are within seed variance",
        "|Δ| ≤ seed std",
        form="pred",
        files=(),
        selection="every config's |Δ| ≤ the Adam baseline's seed std (ddof 1)",
        measure=_seedvar,
        test=all_ok,
        tolerance="every config",
        perturb=flip(_bump("spectral_beta15", lambda o: 1.0), _bump("spectral_beta15", lambda o: 0.0)),
    )
)


@_nodata
def _design(b, src):
    sm = src.doc["summary"]
    keys = (
        set(sm.keys())
        if not src.project
        else {"adam_baseline" if k in ("adamw", "adam_baseline") else k for k in sm.keys()}
    )
    need = {"adam_baseline", *CONFIGS}
    n_seeds = {k: len(src.cfg(k)["seeds"].value) for k in sorted(need & keys)}  # sorted: deterministic output
    epochs = src.doc["n_epochs"].int()
    ok = need <= keys and all(v == 3 for v in n_seeds.values()) and epochs == 100
    return Measure(
        ok,
        f"{src.label}: configs β ∈ {{0.5, 1.0, 1.5}} + inverse + random, 3 seeds each, n_epochs",
        sorted(keys) if not src.project else [src.rec(k) for k in sorted(keys)],
        [
            Candidate("seeds per config", n_seeds, None),
            Candidate("n_epochs", epochs, None),
            Candidate("missing configs", sorted(need - keys), None),
        ],
    )


def _design_perturb(docs, out):
    refs = [r for r in out.records if "/" in r]
    if not refs:
        docs["precond"]["n_epochs"] = 99
        return
    doc = docs[refs[0].rsplit("/", 1)[0]]  # a project file keeps App. M's 100 epochs (else it no longer matches)
    doc["summary"].pop(raw_cfg(doc, "random_perlayer"), None)


CLAIMS.append(
    claim(
        "appM.design",
        "App. M",
        "β ∈ {0.5, 1.0, 1.5}, three seeds, 100 epochs, inverse and random controls",
        "design",
        form="pred",
        files=(),
        selection="the configs present, seeds per config, n_epochs",
        measure=_design,
        test=lambda v, ctx: v is True,
        tolerance="exact",
        perturb=_design_perturb,
    )
)


# -- App. M laws: scalar per-layer scaling -------------------------------------------------------------------
def _within(b: Bundle, ctx: Context) -> Measure:
    judged, notes = [], list(incomplete_note(b))
    for d in complete_files(b):
        sc = scalar_configs(d)
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
                f"{describe(d)}: Δ vs AdamW (pp); AdamW seed std {sd:.3f}",
                {c: round(v, 3) for c, v in ds.items()},
                a.size,
                not bad,
            )
        )
        viol += [f"{d.file} {c}: |Δ| = {abs(v):.3f} pp > AdamW seed std {sd:.3f}" for c, v in bad.items()]
    unc = config_groups(ctx, [(d, sc, band(0.0, float(seeds(d, "adamw").std(ddof=1)))) for d, sc in judged])
    return Measure(
        (ok_n, len(judged)),
        "per complete comparison file: |seed mean(config) − seed mean(AdamW)| vs the AdamW seed std (ddof 1)",
        refs,
        cands,
        notes
        + [
            "value = (files where every scalar config is within the AdamW seed std, files judged)",
            "interval verdict: each scalar config's seed-bootstrap interval of Δ against the band ±(AdamW seed std "
            "of its file) — the band's width is the data's, as the law states",
        ],
        viol,
        uncertainty=unc,
    )


def _within_away(docs, out):
    f, cs = next(iter(scalar_refs(out.records).items()))
    doc = docs[f]
    av = np.asarray(doc["summary"][raw_cfg(doc, "adamw")]["seeds"], float)
    sd = float(av.std(ddof=1))
    c = next(iter(cs))
    set_seeds(doc, c, like([v - 8 * sd - 1.0 for v in av], len(doc["summary"][c]["seeds"])))


CLAIMS.append(
    law(
        "appM.law.scalar_within_seed_var",
        "App. M (law reading)",
        "scalar per-layer learning-rate scaling η_ℓ ∝ (s_ℓ/s̄)^β (and its controls) stays within AdamW's seed variance",
        "|Δ| ≤ seed std",
        selection="every complete sad-optim/1 file with adamw (≥ 2 seeds) and App. M's scalar configs present "
        "(the authors' App. M file is judged by appM.within_seed_var)",
        measure=_within,
        test=all_ok,
        tolerance="every scalar config's |Δ| ≤ the AdamW seed std (ddof 1), in every file",
        perturb=flip(_within_away, scalars_to_adamw),
    )
)


def _no_repro(b: Bundle, ctx: Context) -> Measure:
    pairs, notes = pair(b, "adamw", "sn")
    judged = []
    for d, a, c in pairs:
        ok, delta, se = beats(a, c)
        sn = diff_unit(ctx, d, "adamw", "sn", above(0.0), "SN gain")
        sc = [x for x in scalar_configs(d) if seeds(d, x).size >= 2]
        if not ok or sn.verdict != HOLDS:
            lo, hi = sn.ci or (delta, delta)
            notes.append(
                f"not judged: {d.file}: SN does not beat AdamW beyond seed noise (Δ = {delta:+.2f} pp, 2·SE = {2 * se:.2f}, "
                f"95 % interval [{lo:+.2f}, {hi:+.2f}]), so there is no improvement to reproduce"
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
                f"{describe(d)}: SN Δ = {delta:+.3f}; per scalar config (Δ, SE)",
                {x: (round(v[1], 3), round(v[2], 3)) for x, v in rows.items()},
                len(sc),
                not repro,
            )
        )
        viol += [f"{d.file} {x}: beats AdamW by {rows[x][1]:+.2f} pp > 2·SE = {2 * rows[x][2]:.2f}" for x in repro]
    unc = config_groups(ctx, [(d, sc, above(0.0)) for d, _a, _c, sc, _delta in judged], versus_sn=True)
    return Measure(
        (ok_n, len(judged)),
        "per complete comparison file where SN beats AdamW: does any scalar config beat AdamW by the same criterion?",
        refs,
        cands,
        notes
        + [
            "value = (files where no scalar config beats AdamW beyond seed noise, files judged)",
            "judged: files where SN's gain over AdamW is established (Δ > 2·SE and its 95 % interval above 0); "
            "interval verdict per scalar config: mean(SN) − mean(config) above 0 (SN keeps its advantage: not "
            "reproduced, holds), at or below 0 (the config matches SN: fails), else inconclusive",
        ],
        viol,
        uncertainty=unc,
    )


def _repro_away(docs, out):
    """A scalar config 1 pp + 8 SN seed stds above SN in every seed: it reproduces (and exceeds) SN's gain."""
    f, cs = next(iter(scalar_refs(out.records).items()))
    doc = docs[f]
    c = next(iter(cs))
    sv = np.asarray(doc["summary"][raw_cfg(doc, "sn")]["seeds"], float)
    sn = [v + 1.0 + 8 * float(sv.std(ddof=1)) for v in sv]
    set_seeds(doc, c, like(sn, len(doc["summary"][c]["seeds"])))


CLAIMS.append(
    law(
        "appM.law.scalar_does_not_reproduce_sn_gain",
        "App. M; §7 (law reading)",
        "scalar per-layer scaling does not reproduce Spectral Newton's improvement over AdamW",
        "no scalar gain",
        selection="every complete sad-optim/1 file where SN beats AdamW beyond seed noise (else not judged)",
        measure=_no_repro,
        test=all_ok,
        tolerance="no scalar config has Δ > 0 and Δ > 2·SE vs AdamW (the criterion under which SN beats it), in every file",
        perturb=flip(_repro_away, scalars_to_adamw),
    )
)
