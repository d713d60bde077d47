"""§8 Discussion and limitations: the rank-model phase transitions (VGG-16 by epoch 15–25, ResNet-50 by
epoch 5), R² > 0.99 for most conv layers, and the GPT-2 parameter count (PARTIAL)."""

from __future__ import annotations

import numpy as np

from ..bundle import Bundle
from ..checks import Measure, claim, law
from ..context import Context
from ..measures.rank_models import counts, stored_counts, vgg_labels
from ..model import Candidate
from ..perturb import tri
from ..records import network, networks

CLAIMS = []


def _mixed(b: Bundle, ctx: Context) -> Measure:
    tr = vgg_labels(b)
    n = {t["epoch"].int(): len(t["layers"].value) for t in b.need("vgg16")["trajectory"].items()}
    eps = [e for e in tr if 15 <= e <= 25]
    ok = [e for e in eps if tr[e][2] <= n[e] / 2]
    return Measure(
        (len(ok), len(eps)),
        "vgg16 labels at epochs 15–25: LN not a majority",
        [],
        [
            Candidate(
                "PL + EXP ≥ LN at every epoch 15–25", all(tr[e][0] + tr[e][1] >= tr[e][2] for e in eps), len(eps)
            ),
            Candidate("counts by epoch", {e: tr[e] for e in eps}, None),
        ],
        violators=[f"epoch {e}: (PL, EXP, LN) = {tr[e]}" for e in eps if e not in ok],
        notes=["value = (# epochs 15–25 where LN is not a majority, # epochs)"],
    )


def _mixed_perturb(docs, out):
    for t in docs["vgg16"]["trajectory"]:
        if 15 <= t["epoch"] <= 25:
            for i, lay in enumerate(t["layers"]):
                lay["best_model_bic"] = (
                    "lognormal" if out.verdict == "holds" else ("power_law" if i % 2 else "exponential")
                )


CLAIMS.append(
    claim(
        "disc.vgg16.transition_epoch15_25",
        "§8; App. K; Fig. 4",
        "VGG-16 moves to mixed PL/EXP regimes by epoch 15–25",
        "qualitative",
        form="pred",
        files=("vgg16",),
        selection="mixed = LN is not a majority at every recorded epoch 15–25",
        measure=_mixed,
        test=lambda v, ctx: v[0] == v[1],
        tolerance="LN ≤ half of the layers at each epoch in 15..25",
        perturb=_mixed_perturb,
    )
)


def _rn50_peak(b: Bundle, ctx: Context) -> Measure:
    tr = {
        t["epoch"].int(): counts(r["best_model_bic"].str() for r in t["layers"].items())
        for t in b.need("rmt")["phase_2b_trajectory"].items()
    }
    peak = max(tr, key=lambda e: (tr[e][0], -e))
    cands = [
        Candidate("PL count by epoch (labels)", {e: c[0] for e, c in tr.items()}, None),
        Candidate(
            "stored wins_by_bic PL by epoch",
            {
                t["epoch"].int(): stored_counts(t["wins_by_bic"])[0]
                for t in b.need("rmt")["phase_2b_trajectory"].items()
            },
            None,
        ),
    ]
    return Measure(
        peak, "rmt → phase_2b_trajectory[].layers[].best_model_bic: epoch of the largest PL count", [], cands
    )


def _rn50_perturb(docs, out):
    ep = 1 if out.verdict == "holds" else 5
    t = next(t for t in docs["rmt"]["phase_2b_trajectory"] if t["epoch"] == ep)
    for lay in t["layers"]:
        lay["best_model_bic"] = "power_law"


CLAIMS.append(
    claim(
        "disc.rn50.pl_peak_epoch5",
        "§8",
        "for ResNet-50 the transition peaks by epoch 5",
        5,
        form="count",
        files=("rmt",),
        selection="argmax epoch of the per-layer PL count (earliest on ties)",
        measure=_rn50_peak,
        perturb=_rn50_perturb,
    )
)


def _r2_most(b: Bundle, ctx: Context) -> Measure:
    root = b.need("conv_gap_v2")
    rows = []
    for rec in root["conv_results"].items():
        h, s = rec["h_exact"].arr(), rec["sigma"].arr()
        rows.append((rec["name"].str(), float(np.corrcoef(h, s**2)[0, 1] ** 2)))
    cands = [Candidate("per layer linear r²(h, σ²)", {n: round(v, 4) for n, v in rows}, None)]
    if b.has("alpha_triangle"):
        conv = [x for n in networks(b, "alpha_triangle") for x in n.of_type("conv")]
        cands.append(
            Candidate(
                "alpha_triangle log-log R² (r2_alpha) > 0.99: (#, n)",
                (sum(x.r2 > 0.99 for x in conv), len(conv)),
                len(conv),
            )
        )
    return Measure(
        (sum(v > 0.99 for _, v in rows), len(rows)),
        "conv_gap_v2 conv layers: linear Pearson r²(h_exact, σ²)",
        [f"conv_gap_v2/{n}" for n, _ in rows],
        cands,
        violators=[f"{n}: r² = {v:.4f}" for n, v in rows if not v > 0.99],
        notes=["value = (# conv layers with r² > 0.99, n)"],
    )


def _r2_perturb(docs, out):
    for rec in docs["conv_gap_v2"]["conv_results"]:
        s = rec["sigma"]
        rec["h_exact"] = [
            v * v * (1 + (0.8 * ((j % 2) - 0.5) if out.verdict == "holds" else 0)) for j, v in enumerate(s)
        ]


CLAIMS.append(
    law(
        "disc.r2_gt_0.99_most_conv",
        "§8 (citing App. A)",
        "R² > 0.99 for most conv layers",
        "> 0.99",
        selection="linear r²(h, σ²) on the conv_gap_v2 arrays (log-log R² shown as a candidate); most = more than half",
        measure=_r2_most,
        test=lambda v, ctx: v[0] > v[1] / 2,
        tolerance="strict > 0.99 for more than half of the conv layers",
        perturb=_r2_perturb,
        files=("conv_gap_v2",),
    )
)


# -- GPT-2 parameter count (PARTIAL) -------------------------------------------------------------
def _params(b: Bundle, ctx: Context) -> Measure:
    tri_net = network(b, "alpha_triangle", "alpha_triangle[gpt2_triangle]")
    per_block_mlp = sum(int(np.prod(x.shape)) for x in tri_net.layers if x.name.startswith("block0."))
    head = int(np.prod(tri_net.by_name("output_head").shape))
    attn = 0
    if b.has("hypothesis"):
        lm = network(b, "hypothesis", "hypothesis[task_structure.GPT2_LM]")
        attn = sum(int(np.prod(x.shape)) for x in lm.of_type("attn_qkv", "attn_proj"))
    total = 6 * (per_block_mlp + attn) + head
    return Measure(
        total / 1e6,
        "alpha_triangle gpt2 block0 MLP shapes + hypothesis GPT2_LM attention shapes, × 6 blocks + output head",
        [
            "alpha_triangle[gpt2_triangle]/block0.mlp.0",
            "alpha_triangle[gpt2_triangle]/block0.mlp.2",
            "alpha_triangle[gpt2_triangle]/output_head",
        ],
        notes=[f"weight matrices only: {total:,} parameters; embeddings, norms and biases are not stored"],
    )


def _params_perturb(docs, out):
    r = tri(docs, "gpt2_triangle", "block0.mlp.0")
    rows, cols = r["shape"]
    if out.verdict == "holds":
        r["shape"] = [rows * 2, cols]
    else:  # choose the row count that brings the total to 85M
        rest = out.measured * 1e6 - 6 * rows * cols
        r["shape"] = [round((85e6 - rest) / (6 * cols)), cols]


CLAIMS.append(
    claim(
        "disc.gpt2.params_85M",
        "§8 / §6",
        "GPT-2 (6-layer, 85M)",
        85,
        form="point",
        d=0,
        files=("alpha_triangle",),
        selection="parameters of the stored weight shapes (millions, 0 dp)",
        measure=_params,
        perturb=_params_perturb,
        data="partial",
    )
)
