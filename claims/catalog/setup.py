"""§2 Setup: the batch size (PARTIAL) and the top-k windows; and the Abstract's architecture/dataset count."""

from __future__ import annotations

from collections import Counter

from ..checks import Measure, claim
from ..model import Candidate
from ..records import TRIANGLE_META

CLAIMS = []


def _batch(b):
    vals = {}
    if b.has("tiny"):
        vals["tiny eval_samples"] = b.need("tiny")["eval_samples"].int()
    if b.has("conv_gap_v2"):
        for r in b.need("conv_gap_v2")["conv_results"].items():
            vals[f"conv_gap_v2 {r['name'].str()} N_samples"] = r["N_samples"].int()
    if not vals:
        return Measure(None, "no file records a batch size")
    return Measure(
        list(vals.values()),
        "tiny eval_samples; conv_gap_v2 conv_results[].N_samples",
        list(vals),
        [Candidate("values", vals, None)],
        ["PARTIAL: the other files record no batch size"],
    )


CLAIMS.append(
    claim(
        "setup.batch_size",
        "§2",
        "B = 2048–4096",
        (2048, 4096),
        form="into",
        d=0,
        files=(),
        selection="every recorded B lies in the range",
        measure=_batch,
        perturb=lambda d, o: d["tiny"].__setitem__("eval_samples", 1024),
        data="partial",
    )
)


def _topk(b):
    ks = Counter()
    if b.has("alpha_triangle"):
        for blk in b.need("alpha_triangle").items():
            for r in blk["results"].items():
                ks[r["top_k"].int()] += 1
    for key in ("tiny", "rmt", "vgg16"):
        if b.has(key):
            ks[b.need(key)["top_k"].int()] += 1
    if b.has("intrinsic_dim"):
        for blk in b.need("intrinsic_dim").items():
            for r in blk["results"].items():
                ks[r["top_k"].int()] += 1
    cands = []
    if b.has("in1k"):
        r = b.need("in1k")["results"][0]
        cands.append(
            Candidate("in1k top_k_hvp / top_k_svd (γ window = SVD)", (r["top_k_hvp"].int(), r["top_k_svd"].int()), None)
        )
    if not ks:
        return Measure(None, "no top_k recorded")
    typical = ks.most_common(1)[0][0]
    return Measure(
        (typical, max(ks)),
        "top_k of alpha_triangle rows, tiny, rmt, vgg16, intrinsic_dim rows: (most common, max)",
        [],
        [Candidate("top_k counts", dict(ks), None), *cands],
    )


def _topk_perturb(docs, out):
    for blk in docs["alpha_triangle"]:
        for r in blk["results"]:
            r["top_k"] = 30
    for blk in docs["intrinsic_dim"]:
        for r in blk["results"]:
            r["top_k"] = 30


CLAIMS.append(
    claim(
        "setup.gamma.topk",
        "§2",
        "{printed}",
        "k = 20 typical; k = 100 extended",
        form="pred",
        files=(),
        selection="most common recorded top_k and the largest",
        measure=_topk,
        test=lambda v: tuple(v) == (20, 100),
        tolerance="exact: most common = 20 and max = 100",
        perturb=_topk_perturb,
    )
)


# -- Abstract: 5 architectures, 3 datasets ---------------------------------------------------------
def _norm_arch(model: str) -> str:
    return model.split(" (")[0].strip()


def _norm_ds(ds: str) -> str:
    return ds.split(" (")[0].strip()


def _archs(b):
    groups = set()
    if b.has("alpha_triangle"):
        for blk in b.need("alpha_triangle").items():
            arch, ds, _ = TRIANGLE_META[blk["experiment"].str()]
            groups.add((arch, ds))
    for key in ("tiny", "in1k"):
        if b.has(key):
            n = b.need(key)
            groups.add((_norm_arch(n["model"].str()), _norm_ds(n["dataset"].str())))
    archs = {a for a, _ in groups}
    dss = {d for _, d in groups}
    real = {d for d in dss if "synthetic" not in d}
    return Measure(
        (len(archs), len(dss)),
        "alpha_triangle (dataset from the paper), tiny and in1k model/dataset metadata",
        sorted(f"{a} / {d}" for a, d in groups),
        [
            Candidate("(arch, dataset) groups", len(groups), None),
            Candidate("real datasets only", len(real), None),
            Candidate("architectures", sorted(archs), None),
            Candidate("datasets", sorted(dss), None),
        ],
        [
            "alpha_triangle has no dataset field: ResNet-18/VGG-11 = CIFAR-10 (Table 1), GPT-2 = synthetic LM (Table 2 caption)"
        ],
    )


def _archs_perturb(docs, out):
    if out.verdict == "holds":
        docs["tiny"]["model"] = "ResNet-18"
    else:
        docs["tiny"]["model"] = "WideResNet-50"
        docs["in1k"]["dataset"] = docs["tiny"]["dataset"]


CLAIMS.append(
    claim(
        "abs.triangle.n_arch_n_datasets",
        "Abstract; Remark 2",
        "{printed}",
        "5 architectures, 3 datasets",
        form="pred",
        files=("alpha_triangle", "tiny", "in1k"),
        selection="distinct architectures and distinct datasets (synthetic LM counted)",
        measure=_archs,
        test=lambda v: tuple(v) == (5, 3),
        tolerance="exact",
        perturb=_archs_perturb,
    )
)
