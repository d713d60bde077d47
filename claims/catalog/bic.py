r"""App. G and App. K (and the BIC statements of §8): rank-profile model wins, recomputed from the raw
σ arrays with :func:`theory.fits.fit_rank_models` (BIC = n ln(RSS/n) + p ln n, p = 2, 2, 3) where
they exist (alpha_triangle, rmt); vgg16 stores no σ, so its per-layer labels are counted."""

from __future__ import annotations

import math

from theory.fits import RANK_MODELS, fit_rank_models

from ..checks import Measure, claim, law
from ..model import Candidate
from ..perturb import flip

CLAIMS = []
ORDER = RANK_MODELS  # power_law, exponential, lognormal


def counts(labels) -> tuple[int, int, int]:
    labels = list(labels)
    pl, ex, ln = (sum(x == m for x in labels) for m in ORDER)
    return pl, ex, ln


def _stored(node) -> tuple[int, int, int]:
    """A stored wins dict (models with zero wins omitted → 0)."""
    pl, ex, ln = (int(node.value.get(m, 0)) for m in ORDER)
    return pl, ex, ln


_REFIT: dict[tuple[int, str], tuple[object, list[str]]] = {}


def refit_labels(layers_node) -> list[str]:
    """BIC winners refitted on each record's σ (memoised per parsed document and JSON path)."""
    key = (id(layers_node.value), layers_node.path)
    if key not in _REFIT or _REFIT[key][0] is not layers_node.value:
        _REFIT[key] = (layers_node.value, [fit_rank_models(rec["sigma"].arr()).winner for rec in layers_node.items()])
    return _REFIT[key][1]


def _rmt_phase(b, phase):
    root = b.need("rmt")
    if phase.startswith("epoch="):
        ep = int(phase.split("=")[1])
        return root["phase_2b_trajectory"].where("epoch", ep)
    return root[phase]


# -- App. G --------------------------------------------------------------------------------------
def _cifar(b):
    labels, refs = [], []
    for blk in b.need("alpha_triangle").items():
        for rec in blk["results"].items():
            labels.append(fit_rank_models(rec["sigma"].arr()).winner)
            refs.append(f"alpha_triangle[{blk['experiment'].str()}]/{rec['name'].str()}")
    cands = []
    notes = []
    if b.has("model_fit"):
        mf = b.need("model_fit")
        st = _stored(mf["summary"]["wins_by_bic"])
        lab = counts(r["best_model_bic"].str() for r in mf["layers"].items())
        cands += [
            Candidate("model_fit summary.wins_by_bic", st, None, same=True),
            Candidate("model_fit layers[].best_model_bic", lab, len(mf["layers"].value), same=True),
        ]
        if st != counts(labels):
            notes.append(f"summary drift: model_fit summary {st} vs refit {counts(labels)}")
    if b.has("depth_scaling"):
        cands.append(
            Candidate(
                "depth_scaling phase1a.wins_by_bic", _stored(b.need("depth_scaling")["phase1a"]["wins_by_bic"]), None
            )
        )
    return Measure(
        counts(labels),
        "alpha_triangle → [*].results[].sigma (top_k window): BIC refit; (PL, EXP, LN)",
        refs,
        cands,
        notes,
    )


def _rmt(phase):
    def measure(b):
        node = _rmt_phase(b, phase)
        labels = refit_labels(node["layers"])
        st = _stored(node["wins_by_bic"] if node.has("wins_by_bic") else node["summary"]["wins_by_bic"])
        cands = [
            Candidate(f"stored {node.path} wins_by_bic", st, None, same=True),
            Candidate(
                "stored per-layer best_model_bic",
                counts(r["best_model_bic"].str() for r in node["layers"].items()),
                None,
            ),
        ]
        if phase == "phase_2a_init":
            alt = _rmt_phase(b, "epoch=0")
            cands.append(
                Candidate(
                    "phase_2b_trajectory[epoch=0] (a different init snapshot), refit",
                    counts(refit_labels(alt["layers"])),
                    None,
                )
            )
        notes = [] if st == counts(labels) else [f"summary drift: stored {st} vs refit {counts(labels)}"]
        return Measure(
            counts(labels),
            f"rmt → {node.path}.layers[].sigma: BIC refit; (PL, EXP, LN)",
            [f"rmt/{r['name'].str()}" for r in node["layers"].items()],
            cands,
            notes,
        )

    return measure


def _pure(kind: str, k: int) -> list[float]:
    """σ_k of a pure rank profile: the named model then fits exactly (RSS ≈ 0) and wins the BIC."""
    if kind == "exponential":
        return [math.exp(-0.05 * j) for j in range(1, k + 1)]
    if kind == "lognormal":
        return [math.exp(-0.3 * math.log(j) ** 2 - 0.2 * math.log(j)) for j in range(1, k + 1)]
    return [j**-1.0 * (1 + 0.02 * math.sin(7.3 * j)) for j in range(1, k + 1)]


def _bic_perturb(records_fn, printed):
    """Away: turn one layer into a different pure profile. Towards: rewrite profiles to reach the printed counts."""

    def away(docs, out):
        recs = records_fn(docs)
        labels = [fit_rank_models(r["sigma"]).winner for r in recs]
        i = labels.index("lognormal") if "lognormal" in labels else 0
        recs[i]["sigma"] = _pure("exponential" if labels[i] != "exponential" else "lognormal", len(recs[i]["sigma"]))

    def toward(docs, out):
        recs = records_fn(docs)
        kinds = [m for m, c in zip(ORDER, printed, strict=True) for _ in range(c)]
        for r, kind in zip(recs, kinds, strict=False):
            r["sigma"] = _pure(kind, len(r["sigma"]))

    return flip(away, toward)


def _tri_recs(docs):
    return [r for blk in docs["alpha_triangle"] for r in blk["results"]]


def _rmt_recs(phase):
    def f(docs):
        d = docs["rmt"]
        if phase.startswith("epoch="):
            return next(t for t in d["phase_2b_trajectory"] if t["epoch"] == int(phase.split("=")[1]))["layers"]
        return d[phase]["layers"]

    return f


CLAIMS += [
    claim(
        "appG.cifar.bic",
        "App. G",
        "CIFAR (k = 20, 24 layers): PL / EXP / LN wins = {printed}",
        (1, 2, 21),
        form="count",
        files=("alpha_triangle",),
        selection="independent BIC refit on each alpha_triangle σ (§4.5)",
        measure=_cifar,
        perturb=_bic_perturb(_tri_recs, (1, 2, 21)),
        tolerance="exact per model",
    ),
    claim(
        "appG.tiny.init.bic",
        "App. G",
        "ResNet-50 Tiny-IN init (k = 100, 54 layers): PL / EXP / LN = {printed}",
        (12, 3, 39),
        form="count",
        files=("rmt",),
        selection="rmt phase_2a_init, BIC refit on σ",
        measure=_rmt("phase_2a_init"),
        perturb=_bic_perturb(_rmt_recs("phase_2a_init"), (12, 3, 39)),
        tolerance="exact per model",
    ),
    claim(
        "appG.tiny.trained.bic",
        "App. G",
        "ResNet-50 Tiny-IN trained: PL / EXP / LN = {printed}",
        (0, 15, 39),
        form="count",
        files=("rmt",),
        selection="rmt phase_1b_extended_trained, BIC refit on σ",
        measure=_rmt("phase_1b_extended_trained"),
        perturb=_bic_perturb(_rmt_recs("phase_1b_extended_trained"), (0, 15, 39)),
        tolerance="exact per model",
    ),
]


def _exp_0_25(b):
    e0 = counts(refit_labels(_rmt_phase(b, "epoch=0")["layers"]))[1]
    e25 = counts(refit_labels(_rmt_phase(b, "epoch=25")["layers"]))[1]
    cands = [
        Candidate(
            "stored wins_by_bic",
            (_stored(_rmt_phase(b, "epoch=0")["wins_by_bic"])[1], _stored(_rmt_phase(b, "epoch=25")["wins_by_bic"])[1]),
            None,
        ),
        Candidate(
            "init as phase_2a_init (App. G table's init)",
            (counts(refit_labels(_rmt_phase(b, "phase_2a_init")["layers"]))[1], e25),
            None,
        ),
    ]
    if b.has("depth_scaling"):
        tw = {t["epoch"].int(): t["wins"] for t in b.need("depth_scaling")["trajectory_wins"].items()}
        cands.append(
            Candidate("depth_scaling trajectory_wins", (_stored(tw[0])[1], _stored(tw[25])[1]), None, same=True)
        )
    return Measure(
        (e0, e25), "rmt → phase_2b_trajectory[epoch ∈ {0, 25}].layers[].sigma: BIC refit, EXP wins", [], cands
    )


CLAIMS.append(
    claim(
        "appG.tiny.exp_wins_0_to_25",
        "App. G",
        "exponential wins {printed} from epoch 0 to 25",
        "6 → 15",
        form="pred",
        test=lambda v: tuple(v) == (6, 15),
        files=("rmt",),
        selection="rmt trajectory epochs 0 and 25, refit",
        measure=_exp_0_25,
        tolerance="exact at both epochs",
        perturb=flip(
            lambda d, o: _bic_perturb(_rmt_recs("epoch=25"), ())(d, o),
            lambda d, o: [
                _bic_perturb(_rmt_recs(ep), (0, n, 54 - n))(d, o) for ep, n in (("epoch=0", 6), ("epoch=25", 15))
            ],
        ),
    )
)


def _not_dominant(b):
    c = counts(refit_labels(_rmt_phase(b, "phase_2a_init")["layers"]))
    c0 = counts(refit_labels(_rmt_phase(b, "epoch=0")["layers"]))
    plural = lambda cc: ORDER[max(range(3), key=lambda i: cc[i])]  # noqa: E731
    return Measure(
        (plural(c), plural(c0)),
        "rmt init snapshots (phase_2a_init, trajectory epoch 0): plurality winner, refit",
        [],
        [Candidate("phase_2a_init counts", c, None), Candidate("trajectory epoch 0 counts", c0, None)],
    )


def _nd_perturb(docs, out):
    for ph in ("phase_2a_init", "epoch=0"):
        for r in _rmt_recs(ph)(docs):
            r["sigma"] = _pure("exponential", len(r["sigma"]))


CLAIMS.append(
    law(
        "appG.exp_not_dominant_init",
        "App. G",
        "EXP wins increase with training but do not dominate at init",
        "EXP not plurality at init",
        selection="plurality winner of both init snapshots",
        measure=_not_dominant,
        test=lambda v: "exponential" not in v,
        tolerance="EXP is not the plurality in either init snapshot",
        perturb=_nd_perturb,
        files=("rmt",),
    )
)


# -- App. K (VGG-16; no σ arrays: per-layer labels) ------------------------------------------------
K_PRINTED = {0: (2, 2, 11), 5: (2, 3, 10), 10: (3, 3, 9), 15: (5, 5, 5), 20: (6, 4, 5), 25: (4, 5, 6)}


def _vgg_epoch(b, ep):
    return b.need("vgg16")["trajectory"].where("epoch", ep)


def _k(ep):
    def measure(b):
        node = _vgg_epoch(b, ep)
        lab = counts(r["best_model_bic"].str() for r in node["layers"].items())
        argmin = counts(min(ORDER, key=lambda m, r=r: r["bic"][m].num()) for r in node["layers"].items())
        st = _stored(node["wins_by_bic"])
        notes = [] if st == lab else [f"summary drift: stored wins_by_bic {st} vs labels {lab}"]
        return Measure(
            lab,
            f"vgg16 → trajectory[epoch={ep}].layers[].best_model_bic (no σ arrays: no refit)",
            [f"vgg16/{r['name'].str()}" for r in node["layers"].items()],
            [
                Candidate("argmin of layers[].bic", argmin, None, same=True),
                Candidate("stored wins_by_bic", st, None, same=True),
            ],
            notes,
        )

    return measure


def _k_perturb(ep, printed):
    def relabel(docs, out, target):
        layers = next(t for t in docs["vgg16"]["trajectory"] if t["epoch"] == ep)["layers"]
        kinds = [m for m, c in zip(ORDER, target, strict=True) for _ in range(c)]
        for lay, kind in zip(layers, kinds, strict=False):
            lay["best_model_bic"] = kind
            lay["bic"] = {m: (0.0 if m == kind else 10.0) for m in ORDER}

    def away(docs, out):
        c = list(out.measured)
        i = max(range(3), key=lambda j: c[j])
        c[i] -= 1
        c[(i + 1) % 3] += 1
        relabel(docs, out, c)

    return flip(away, lambda d, o: relabel(d, o, printed))


for _ep, _p in K_PRINTED.items():
    CLAIMS.append(
        claim(
            f"appK.bic.e{_ep}",
            "App. K",
            f"VGG-16 epoch {_ep}: PL / EXP / LN = {{printed}}",
            _p,
            form="count",
            files=("vgg16",),
            selection="count of per-layer best_model_bic",
            measure=_k(_ep),
            perturb=_k_perturb(_ep, _p),
            tolerance="exact per model",
        )
    )


# -- BIC selects log-normal on most layers (law, every file with rank-profile data) ------------------
def _ln_most(b):
    pops = []
    if b.has("alpha_triangle"):
        labels = []
        for blk in b.need("alpha_triangle").items():
            labels += refit_labels(blk["results"])
        pops.append(("alpha_triangle (CIFAR, refit)", counts(labels)))
    if b.has("rmt"):
        for ph in ("phase_2a_init", "phase_1b_extended_trained"):
            pops.append((f"rmt {ph} (refit)", counts(refit_labels(_rmt_phase(b, ph)["layers"]))))
    if b.has("vgg16"):
        last = max(t["epoch"].int() for t in b.need("vgg16")["trajectory"].items())
        pops.append(
            (
                f"vgg16 epoch {last} (labels)",
                counts(r["best_model_bic"].str() for r in _vgg_epoch(b, last)["layers"].items()),
            )
        )
    if b.has("in1k"):
        pops.append(("in1k best_bic (labels)", counts(r["best_bic"].str() for r in b.need("in1k")["results"].items())))
    if b.has("kronecker"):
        pops.append(
            (
                "kronecker sigma_bic_best (labels)",
                counts(r["sigma_bic_best"].str() for r in b.need("kronecker")["layers"].items()),
            )
        )
    from ..records import networks

    for n in networks(b, "project"):
        lab = [fit_rank_models(x.extra["sigma"]).winner for x in n.layers]
        pops.append((f"{n.label} (refit)", counts(w for w in lab if w)))
    if not pops:
        return Measure(None, "no rank-profile data")
    plural = [(p, c) for p, c in pops if c[2] > max(c[0], c[1])]
    pair = [(p, c) for p, c in pops if c[2] > sum(c) / 2]
    return Measure(
        (len(plural), len(pops)),
        "per file/population: log-normal is the plurality of BIC winners",
        [p for p, _ in pops],
        [Candidate(p, c, sum(c)) for p, c in pops]
        + [Candidate("LN a strict majority: (# populations, n)", (len(pair), len(pops)), None)],
        violators=[f"{p}: (PL, EXP, LN) = {c}" for p, c in pops if (p, c) not in plural],
        notes=["value = (# populations where LN is the plurality, n)"],
    )


def _ln_perturb(docs, out):
    for r in docs["kronecker"]["layers"]:
        r["sigma_bic_best"] = "power_law" if out.verdict == "holds" else "lognormal"


CLAIMS.append(
    law(
        "add.bic.lognormal_most",
        "Remark 2(ii); §8; App. G",
        "BIC selects log-normal over power law on most layers",
        "LN plurality",
        selection="per file/population (alpha_triangle, rmt init/trained, vgg16 last epoch, in1k, kronecker, project files)",
        measure=_ln_most,
        test=lambda v: v[0] == v[1],
        tolerance="log-normal is the plurality in every population",
        perturb=_ln_perturb,
    )
)
