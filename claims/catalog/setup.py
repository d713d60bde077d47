"""§2 Setup and Measurement: the batch size (PARTIAL), the top-k windows, and the NO DATA finite-difference
statement."""

from __future__ import annotations

from collections import Counter

from ..bundle import Bundle
from ..checks import Measure, claim, nodata
from ..context import Context
from ..model import Candidate

CLAIMS = []


def _batch(b: Bundle, ctx: Context) -> Measure:
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


def _topk(b: Bundle, ctx: Context) -> Measure:
    ks: Counter[int] = Counter()
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
    """Shorten every alpha_triangle window to at most 15 directions (σ, h_exact and top_k together) and record an
    intrinsic_dim window of 15: the most common top_k becomes 15."""
    for blk in docs["alpha_triangle"]:
        for r in blk["results"]:
            r["sigma"], r["h_exact"] = r["sigma"][:15], r["h_exact"][:15]
            r["top_k"] = len(r["sigma"])
    for blk in docs["intrinsic_dim"]:
        for r in blk["results"]:
            r["top_k"] = 15


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
        test=lambda v, ctx: tuple(v) == (20, 100),
        tolerance="exact: most common = 20 and max = 100",
        perturb=_topk_perturb,
    )
)

CLAIMS.append(nodata("setup.fd_hessian.r2", "§2", "finite-difference R² ≈ 0.17; 50 % spurious negatives", 0.17, 2))
