r"""App. G gradient rank profile: the BIC model wins (power law / exponential / log-normal in rank), recomputed
from the raw σ arrays with :func:`theory.fits.fit_rank_models` (alpha_triangle for CIFAR, rmt for ResNet-50
Tiny-ImageNet at init, trained and over the trajectory)."""

from __future__ import annotations

from ..bundle import Bundle
from ..checks import Measure, MeasureFn, claim, law
from ..context import Context
from ..measures.rank_models import (
    ORDER,
    bic_perturb,
    counts,
    pure_profile,
    refit_labels,
    rmt_phase,
    rmt_records,
    stored_counts,
    triangle_records,
)
from ..model import Candidate
from ..perturb import flip

CLAIMS = []


# -- App. G --------------------------------------------------------------------------------------
def _cifar(b: Bundle, ctx: Context) -> Measure:
    labels, refs = [], []
    for blk in b.need("alpha_triangle").items():
        labels += refit_labels(b, blk["results"])
        for rec in blk["results"].items():
            refs.append(f"alpha_triangle[{blk['experiment'].str()}]/{rec['name'].str()}")
    cands = []
    if b.has("model_fit"):
        mf = b.need("model_fit")
        st = stored_counts(mf["summary"]["wins_by_bic"])
        lab = counts(r["best_model_bic"].str() for r in mf["layers"].items())
        cands += [
            Candidate("model_fit summary.wins_by_bic", st, None, same=True),
            Candidate("model_fit layers[].best_model_bic", lab, len(mf["layers"].value), same=True),
        ]
    if b.has("depth_scaling"):
        cands.append(
            Candidate(
                "depth_scaling phase1a.wins_by_bic",
                stored_counts(b.need("depth_scaling")["phase1a"]["wins_by_bic"]),
                None,
            )
        )
    return Measure(
        counts(labels),
        "alpha_triangle → [*].results[].sigma (top_k window): BIC refit; (PL, EXP, LN)",
        refs,
        cands,
    )


def _rmt(phase: str) -> MeasureFn:
    def measure(b: Bundle, ctx: Context) -> Measure:
        node = rmt_phase(b, phase)
        labels = refit_labels(b, node["layers"])
        st = stored_counts(node["wins_by_bic"] if node.has("wins_by_bic") else node["summary"]["wins_by_bic"])
        cands = [
            Candidate(f"stored {node.path} wins_by_bic", st, None, same=True),
            Candidate(
                "stored per-layer best_model_bic",
                counts(r["best_model_bic"].str() for r in node["layers"].items()),
                None,
            ),
        ]
        if phase == "phase_2a_init":
            alt = rmt_phase(b, "epoch=0")
            cands.append(
                Candidate(
                    "phase_2b_trajectory[epoch=0] (a different init snapshot), refit",
                    counts(refit_labels(b, alt["layers"])),
                    None,
                )
            )
        return Measure(
            counts(labels),
            f"rmt → {node.path}.layers[].sigma: BIC refit; (PL, EXP, LN)",
            [f"rmt/{r['name'].str()}" for r in node["layers"].items()],
            cands,
        )

    return measure


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
        perturb=bic_perturb(triangle_records, (1, 2, 21)),
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
        perturb=bic_perturb(rmt_records("phase_2a_init"), (12, 3, 39)),
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
        perturb=bic_perturb(rmt_records("phase_1b_extended_trained"), (0, 15, 39)),
        tolerance="exact per model",
    ),
]


def _exp_0_25(b: Bundle, ctx: Context) -> Measure:
    e0 = counts(refit_labels(b, rmt_phase(b, "epoch=0")["layers"]))[1]
    e25 = counts(refit_labels(b, rmt_phase(b, "epoch=25")["layers"]))[1]
    cands = [
        Candidate(
            "stored wins_by_bic",
            (
                stored_counts(rmt_phase(b, "epoch=0")["wins_by_bic"])[1],
                stored_counts(rmt_phase(b, "epoch=25")["wins_by_bic"])[1],
            ),
            None,
        ),
        Candidate(
            "init as phase_2a_init (App. G table's init)",
            (counts(refit_labels(b, rmt_phase(b, "phase_2a_init")["layers"]))[1], e25),
            None,
        ),
    ]
    if b.has("depth_scaling"):
        tw = {t["epoch"].int(): t["wins"] for t in b.need("depth_scaling")["trajectory_wins"].items()}
        cands.append(
            Candidate(
                "depth_scaling trajectory_wins", (stored_counts(tw[0])[1], stored_counts(tw[25])[1]), None, same=True
            )
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
        test=lambda v, ctx: tuple(v) == (6, 15),
        files=("rmt",),
        selection="rmt trajectory epochs 0 and 25, refit",
        measure=_exp_0_25,
        tolerance="exact at both epochs",
        perturb=flip(
            lambda d, o: bic_perturb(rmt_records("epoch=25"), ())(d, o),
            lambda d, o: [
                bic_perturb(rmt_records(ep), (0, n, 54 - n))(d, o) for ep, n in (("epoch=0", 6), ("epoch=25", 15))
            ],
        ),
    )
)


def _not_dominant(b: Bundle, ctx: Context) -> Measure:
    c = counts(refit_labels(b, rmt_phase(b, "phase_2a_init")["layers"]))
    c0 = counts(refit_labels(b, rmt_phase(b, "epoch=0")["layers"]))
    plural = lambda cc: ORDER[max(range(3), key=lambda i: cc[i])]  # noqa: E731
    return Measure(
        (plural(c), plural(c0)),
        "rmt init snapshots (phase_2a_init, trajectory epoch 0): plurality winner, refit",
        [],
        [Candidate("phase_2a_init counts", c, None), Candidate("trajectory epoch 0 counts", c0, None)],
    )


def _nd_perturb(docs, out):
    for ph in ("phase_2a_init", "epoch=0"):
        for r in rmt_records(ph)(docs):
            r["sigma"] = pure_profile("exponential", len(r["sigma"]))


CLAIMS.append(
    law(
        "appG.exp_not_dominant_init",
        "App. G",
        "EXP wins increase with training but do not dominate at init",
        "EXP not plurality at init",
        selection="plurality winner of both init snapshots",
        measure=_not_dominant,
        test=lambda v, ctx: "exponential" not in v,
        tolerance="EXP is not the plurality in either init snapshot",
        perturb=_nd_perturb,
        files=("rmt",),
    )
)
