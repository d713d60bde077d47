"""App. K text claims, §8 Discussion / Limitations and reproducibility facts (M): trajectories, the
R² > 0.99 statement, GPT-2 parameter count (PARTIAL), file set and GPU hours (PARTIAL)."""

from __future__ import annotations

import numpy as np

from ..bundle import FILE_KEYS
from ..checks import Measure, claim, law
from ..model import Candidate
from ..perturb import flip
from .bic import _rmt_phase, _stored, counts, refit_labels

CLAIMS = []


def _traj(b):
    """{epoch: (PL, EXP, LN)} of vgg16 per-layer labels, and their layer counts."""
    out = {}
    for t in b.need("vgg16")["trajectory"].items():
        out[t["epoch"].int()] = counts(r["best_model_bic"].str() for r in t["layers"].items())
    return out


# -- App. K text ---------------------------------------------------------------------------------
def _nconv(b):
    layers = b.need("vgg16")["trajectory"][0]["layers"]
    from ..layertypes import layer_type

    types = [layer_type("vgg16", r["name"].str()) for r in layers.items()]
    if None in types:
        raise layers.error("a layer name is not in the explicit vgg16 layer-type table")
    ranks = sum(1 for r in layers.items() if r["name"].str().startswith("features."))
    return Measure(
        sum(t == "conv" for t in types),
        "vgg16 → trajectory[0].layers[]: count of layer type conv",
        [r["name"].str() for r in layers.items()],
        [Candidate("all layers", len(types), None), Candidate("features.* records", ranks, None)],
    )


def _nconv_perturb(docs, out):
    for t in docs["vgg16"]["trajectory"]:
        conv = [r for r in t["layers"] if r["name"].startswith("features.")]
        if out.verdict == "holds":
            t["layers"].remove(conv[-1])
        else:
            extra = [dict(conv[-1], name=n) for n in ("features.26.weight", "features.28.weight")][: 15 - out.measured]
            t["layers"] += extra


CLAIMS.append(
    claim(
        "appK.n_conv_layers",
        "App. K",
        "VGG-16: 15 conv layers",
        15,
        form="count",
        files=("vgg16",),
        selection="count of conv-type layers (explicit VGG-16 table), not the total",
        measure=_nconv,
        perturb=_nconv_perturb,
    )
)


def _field(path, label):
    def measure(b):
        n = b.need("vgg16")
        for p in path:
            n = n[p]
        return Measure(
            n.value if not isinstance(n.value, float) else n.num(),
            f"vgg16 → {n.path}",
            [],
            [
                Candidate(
                    "layers[].top_k values",
                    sorted({r["top_k"].int() for r in b.need("vgg16")["trajectory"][0]["layers"].items()}),
                    None,
                )
            ]
            if label == "topk"
            else [],
        )

    return measure


def _set_field(key, value_fn):
    return lambda d, o: d["vgg16"].__setitem__(key, value_fn(o))


CLAIMS += [
    claim(
        "appK.epochs",
        "App. K",
        "VGG-16 trained for 25 epochs",
        25,
        form="count",
        files=("vgg16",),
        selection="total_epochs",
        measure=_field(("total_epochs",), "epochs"),
        perturb=flip(_set_field("total_epochs", lambda o: 24), _set_field("total_epochs", lambda o: 25)),
    ),
    claim(
        "appK.topk",
        "App. K",
        "top-100 singular values",
        100,
        form="count",
        files=("vgg16",),
        selection="the file's top_k (per-layer top_k shown: small layers use fewer)",
        measure=_field(("top_k",), "topk"),
        perturb=flip(_set_field("top_k", lambda o: 50), _set_field("top_k", lambda o: 100)),
    ),
]


def _pl_peak(b):
    tr = _traj(b)
    peak = max(tr, key=lambda e: (tr[e][0], -e))
    return Measure(
        peak,
        "vgg16 → trajectory[].layers[].best_model_bic: epoch of the largest PL count (earliest on ties)",
        [],
        [Candidate("PL count by epoch", {e: c[0] for e, c in tr.items()}, None)],
    )


def _relabel(docs, ep, kind, n):
    t = next(t for t in docs["vgg16"]["trajectory"] if t["epoch"] == ep)
    for lay in t["layers"][:n]:
        lay["best_model_bic"] = kind


CLAIMS.append(
    claim(
        "appK.pl_peak_15_20",
        "App. K",
        "power law peaks at epoch 15–20",
        (15, 20),
        form="pred",
        files=("vgg16",),
        selection="argmax over epochs of the PL count",
        measure=_pl_peak,
        test=lambda v: 15 <= v <= 20,
        tolerance="argmax epoch ∈ [15, 20]",
        perturb=flip(lambda d, o: _relabel(d, 1, "power_law", 15), lambda d, o: _relabel(d, 15, "power_law", 15)),
    )
)


def _transition(b):
    rows = []
    tr = _traj(b)
    e0, eN = min(tr), max(tr)
    rows.append(("vgg16", tr[e0][2], tr[eN][2]))
    if b.has("rmt"):
        a = counts(refit_labels(_rmt_phase(b, "epoch=0")["layers"]))
        z = counts(refit_labels(_rmt_phase(b, "epoch=25")["layers"]))
        rows.append(("rmt (ResNet-50)", a[2], z[2]))
    viol = [f"{n}: LN wins {a} → {z}" for n, a, z in rows if not z < a]
    return Measure(
        (sum(z < a for _, a, z in rows), len(rows)),
        "trajectories: LN wins at the first vs last epoch",
        [],
        [Candidate(n, (a, z), None) for n, a, z in rows],
        violators=viol,
        notes=["value = (# trajectories where log-normal wins fall from init to the end, n)"],
    )


def _transition_perturb(docs, out):
    last = max(t["epoch"] for t in docs["vgg16"]["trajectory"])
    _relabel(docs, last, "lognormal" if out.verdict == "holds" else "power_law", 15)
    if out.verdict != "holds":
        from .bic import _pure

        for r in next(t for t in docs["rmt"]["phase_2b_trajectory"] if t["epoch"] == 25)["layers"]:
            r["sigma"] = _pure("exponential", len(r["sigma"]))


CLAIMS.append(
    law(
        "appK.transition_general",
        "App. K",
        "the same LN → PL/EXP transition as ResNet-50: architecture-general",
        "qualitative",
        selection="vgg16 labels and rmt refit: LN wins fall from the first to the last epoch, in every trajectory",
        measure=_transition,
        test=lambda v: v[0] == v[1],
        tolerance="LN(last) < LN(first) in every trajectory",
        perturb=_transition_perturb,
        files=("vgg16",),
    )
)


# -- §8 ------------------------------------------------------------------------------------------
def _mixed(b):
    tr = _traj(b)
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
        test=lambda v: v[0] == v[1],
        tolerance="LN ≤ half of the layers at each epoch in 15..25",
        perturb=_mixed_perturb,
    )
)


def _rn50_peak(b):
    tr = {
        t["epoch"].int(): counts(r["best_model_bic"].str() for r in t["layers"].items())
        for t in b.need("rmt")["phase_2b_trajectory"].items()
    }
    peak = max(tr, key=lambda e: (tr[e][0], -e))
    cands = [
        Candidate("PL count by epoch (labels)", {e: c[0] for e, c in tr.items()}, None),
        Candidate(
            "stored wins_by_bic PL by epoch",
            {t["epoch"].int(): _stored(t["wins_by_bic"])[0] for t in b.need("rmt")["phase_2b_trajectory"].items()},
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


def _r2_most(b):
    root = b.need("conv_gap_v2")
    rows = []
    for rec in root["conv_results"].items():
        h, s = rec["h_exact"].arr(), rec["sigma"].arr()
        rows.append((rec["name"].str(), float(np.corrcoef(h, s**2)[0, 1] ** 2)))
    cands = [Candidate("per layer linear r²(h, σ²)", {n: round(v, 4) for n, v in rows}, None)]
    if b.has("alpha_triangle"):
        from ..records import networks

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
    for i, rec in enumerate(docs["conv_gap_v2"]["conv_results"]):
        s = rec["sigma"]
        rec["h_exact"] = [
            v * v * (1 + (0.8 * ((j % 2) - 0.5) if out.verdict == "holds" else 0)) for j, v in enumerate(s)
        ]
        _ = i


CLAIMS.append(
    law(
        "disc.r2_gt_0.99_most_conv",
        "§8 (citing App. A)",
        "R² > 0.99 for most conv layers",
        "> 0.99",
        selection="linear r²(h, σ²) on the conv_gap_v2 arrays (log-log R² shown as a candidate); most = more than half",
        measure=_r2_most,
        test=lambda v: v[0] > v[1] / 2,
        tolerance="strict > 0.99 for more than half of the conv layers",
        perturb=_r2_perturb,
        files=("conv_gap_v2",),
    )
)


# -- GPT-2 parameter count (PARTIAL) -------------------------------------------------------------
def _params(b):
    from ..records import network

    tri = network(b, "alpha_triangle", "alpha_triangle[gpt2_triangle]")
    per_block_mlp = sum(int(np.prod(x.shape)) for x in tri.layers if x.name.startswith("block0."))
    head = int(np.prod(tri.by_name("output_head").shape))
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
    from ..perturb import tri

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


# -- reproducibility (M) -------------------------------------------------------------------------
def _njson(b):
    n = len(b.present)
    if n == 0:
        return Measure(None, "none of the authors' files is in this folder")
    return Measure(
        n,
        "the authors' files present (by file name)",
        sorted(FILE_KEYS[k] for k in b.present),
        [Candidate("files missing", sorted(set(FILE_KEYS) - {k for k in b.present}), None)],
    )


CLAIMS.append(
    claim(
        "repro.n_json",
        "Reproducibility",
        "15 JSON result files",
        15,
        form="count",
        files=(),
        selection="count of the authors' results files in the folder",
        measure=_njson,
        perturb=lambda d, o: d.delete("precond"),
    )
)

HOURS = ("tiny", "in1k", "rmt", "vgg16", "kronecker")


def _hours(b):
    hs = {k: b.need(k)["elapsed_hours"].num() for k in HOURS}
    return Measure(
        sum(hs.values()),
        "elapsed_hours of tiny, in1k, rmt, vgg16, kronecker (the only files recording it)",
        list(hs),
        [Candidate("per file", {k: round(v, 3) for k, v in hs.items()}, None)],
    )


CLAIMS.append(
    claim(
        "repro.gpu_hours",
        "Reproducibility",
        "∼3–4 GPU hours in total",
        (3, 4),
        form="into",
        d=0,
        files=HOURS,
        selection="sum of elapsed_hours where recorded (PARTIAL: 10 of 15 files record none)",
        measure=lambda b: (lambda m: Measure([m.value], m.source, m.records, m.candidates))(_hours(b)),
        perturb=lambda d, o: d["rmt"].__setitem__("elapsed_hours", d["rmt"]["elapsed_hours"] + 5),
        data="partial",
    )
)
