"""App. M, scalar per-layer preconditioner (ResNet-18 CIFAR-10, Adam, 100 epochs). Means are
recomputed from the per-seed accuracies (sel. G); the stored means and std are cross-checked.
This file is App. M's and is never used for Table 3 (Spectral Newton), which has no data."""

from __future__ import annotations

import numpy as np

from ..checks import Measure, claim
from ..model import Candidate
from ..perturb import flip

CLAIMS = []
CONFIGS = ("spectral_beta05", "spectral_beta10", "spectral_beta15", "inverse_spectral", "random_perlayer")


def _seeds(b, cfg):
    return b.need("precond")["summary"][cfg]["seeds"].arr()


def _mean(cfg):
    def measure(b):
        node = b.need("precond")["summary"][cfg]
        s = node["seeds"].arr()
        sv = node["mean_best"].num()
        notes = (
            []
            if abs(sv - s.mean()) <= 0.005
            else [f"summary drift: {node.path}.mean_best = {sv}, seed mean {s.mean():.4f}"]
        )
        sd = node["std_best"].num()
        ddofs = [k for k in (0, 1) if abs(sd - float(s.std(ddof=k))) <= 0.005]
        notes.append(
            f"std_best = {sd} matches the seed std with ddof {ddofs or 'neither'} "
            f"(ddof 0: {s.std(ddof=0):.4f}, ddof 1: {s.std(ddof=1):.4f})"
        )
        return Measure(
            float(s.mean()),
            f"precond → {node.path}.seeds: mean of {s.size} seeds",
            [cfg],
            [Candidate("stored mean_best", sv, None, same=True)],
            notes,
        )

    return measure


def _delta(cfg):
    def measure(b):
        a, c = _seeds(b, "adam_baseline"), _seeds(b, cfg)
        sm = b.need("precond")["summary"]
        stored = sm[cfg]["mean_best"].num() - sm["adam_baseline"]["mean_best"].num()
        return Measure(
            float(c.mean() - a.mean()),
            f"precond: seed mean({cfg}) − seed mean(adam_baseline)",
            [cfg, "adam_baseline"],
            [Candidate("from the stored rounded means", stored, None, same=True)],
        )

    return measure


def _bump(cfg, fn):
    def go(docs, out):
        node = docs["precond"]["summary"][cfg]
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
            files=("precond",),
            selection="mean of the seeds (sel. G)",
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
            files=("precond",),
            selection="difference of seed means (the stored-means reading is a candidate)",
            measure=_delta(_cfg),
            perturb=flip(_bump(_cfg, lambda o: 0.05), _bump(_cfg, lambda o, p=_p: p - o.measured)),
        )
    )


def _maxd(b):
    a = _seeds(b, "adam_baseline").mean()
    ds = {c: float(_seeds(b, c).mean() - a) for c in CONFIGS}
    worst = max(ds, key=lambda c: abs(ds[c]))
    return Measure(
        abs(ds[worst]),
        "precond: max over the five configs of |seed mean − Adam seed mean|",
        list(CONFIGS),
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
        files=("precond",),
        selection="all five configs, |Δ| of seed means",
        measure=_maxd,
        test=lambda v: round(v, 1) <= 0.2 + 1e-12,
        tolerance="round(max |Δ|, 1) ≤ 0.2 (quantified over all five configs)",
        perturb=flip(_bump("random_perlayer", lambda o: 0.5), _bump("random_perlayer", lambda o: 0.0)),
    )
)


def _seedvar(b):
    a = _seeds(b, "adam_baseline")
    sd = float(a.std(ddof=1))
    ds = {c: float(_seeds(b, c).mean() - a.mean()) for c in CONFIGS}
    st = b.need("precond")["summary"]["adam_baseline"]["std_best"].num()
    return Measure(
        (sum(abs(v) <= sd for v in ds.values()), len(ds)),
        f"|Δ| vs the Adam seed std (ddof 1) = {sd:.3f}",
        list(CONFIGS),
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
        files=("precond",),
        selection="every config's |Δ| ≤ the Adam baseline's seed std (ddof 1)",
        measure=_seedvar,
        test=lambda v: v[0] == v[1],
        tolerance="every config",
        perturb=flip(_bump("spectral_beta15", lambda o: 1.0), _bump("spectral_beta15", lambda o: 0.0)),
    )
)


def _design(b):
    sm = b.need("precond")["summary"]
    keys = set(sm.keys())
    need = {"adam_baseline", *CONFIGS}
    n_seeds = {k: len(sm[k]["seeds"].value) for k in need & keys}
    epochs = b.need("precond")["n_epochs"].int()
    ok = need <= keys and all(v == 3 for v in n_seeds.values()) and epochs == 100
    return Measure(
        ok,
        "precond: configs β ∈ {0.5, 1.0, 1.5} + inverse + random, 3 seeds each, n_epochs",
        sorted(keys),
        [
            Candidate("seeds per config", n_seeds, None),
            Candidate("n_epochs", epochs, None),
            Candidate("missing configs", sorted(need - keys), None),
        ],
    )


CLAIMS.append(
    claim(
        "appM.design",
        "App. M",
        "β ∈ {0.5, 1.0, 1.5}, three seeds, 100 epochs, inverse and random controls",
        "design",
        form="pred",
        files=("precond",),
        selection="the configs present, seeds per config, n_epochs",
        measure=_design,
        test=lambda v: v is True,
        tolerance="exact",
        perturb=lambda d, o: d["precond"].__setitem__("n_epochs", 99),
    )
)
