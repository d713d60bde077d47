"""Table 1 (mean α by architecture and layer type, 2 dp): the CIFAR-10 conv range (ResNet-18, VGG-11;
sel. H), the GPT-2 output head, the two ResNet-50 α maps (conv mean / std / n, FC), and the rows with no
backing file (NO DATA)."""

from __future__ import annotations

from theory.fits import fit_alpha

from ..bundle import Bundle
from ..checks import Measure, MeasureFn, claim, nodata
from ..context import Context
from ..measures.alpha_maps import conv_stat_claim, fc_alpha_claim
from ..model import Candidate
from ..perturb import flip, rec_from_ref, rescale_about_mean, set_alpha, shift_alpha, tri
from ..records import network, networks
from ..stats import mean, std

CLAIMS = []
ARCHS = ("resnet18_triangle", "vgg11_triangle")


def _conv(b, exp):
    n = network(b, "alpha_triangle", f"alpha_triangle[{exp}]")
    return n, n.of_type("conv", "downsample")


def _cifar_conv(stat: str) -> MeasureFn:
    f = {
        "mean": lambda L: mean(x.alpha for x in L),
        "std": lambda L: std([x.alpha for x in L], 0),
        "std1": lambda L: std([x.alpha for x in L], 1),
    }

    def measure(b: Bundle, ctx: Context) -> Measure:
        vals, refs, cands = [], [], []
        for exp in ARCHS:
            n, L = _conv(b, exp)
            vals.append(f[stat](L))
            refs += [f"{n.label}/{x.name}" for x in L]
            if stat == "std":
                cands.append(Candidate(f"{exp} std ddof 1", f["std1"](L), len(L), same=True))
        cands.append(Candidate("endpoints equal the two values (min, max)", (min(vals), max(vals)), None, same=True))
        for key in ("conv_gap", "conv_gap_v2", "intrinsic_dim"):
            if b.has(key):
                nets = [x for x in networks(b, key) if x.arch == "ResNet-18"]
                for n in nets:
                    L = n.of_type("conv", "downsample")
                    cands.append(Candidate(f"ResNet-18 source {n.label}", f[stat](L), len(L), same=True))
        return Measure(
            vals,
            "alpha_triangle → [resnet18_triangle, vgg11_triangle].results[conv] (refit); per architecture",
            refs,
            cands,
        )

    return measure


def _mean_perturb(printed):
    a, b = printed

    def away(docs, out):
        for r in out.records:
            shift_alpha(rec_from_ref(docs, r), 0.5)

    def toward(docs, out):
        for exp, v in zip(ARCHS, out.measured, strict=True):
            for r in [r for r in out.records if f"[{exp}]" in r]:
                shift_alpha(rec_from_ref(docs, r), (a + b) / 2 - v)

    return flip(away, toward)


def _std_perturb(printed):
    a, b = printed

    def scale(docs, out, c_of):
        for exp, v in zip(ARCHS, out.measured, strict=True):
            recs = [rec_from_ref(docs, r) for r in out.records if f"[{exp}]" in r]
            cur = [fit_alpha(r["sigma"], r["h_exact"]).alpha for r in recs]
            for r, t in zip(recs, rescale_about_mean(cur, c_of(v)), strict=True):
                set_alpha(r, t)

    return flip(lambda d, o: scale(d, o, lambda v: 3.0), lambda d, o: scale(d, o, lambda v: (a + b) / 2 / v))


CLAIMS += [
    claim(
        "t1.cifar_conv.mean_alpha",
        "Table 1",
        "ResNet-18 / VGG-11 (CIFAR-10) conv: mean α 1.97–2.17",
        (1.97, 2.17),
        form="into",
        d=2,
        files=("alpha_triangle",),
        selection="each architecture's conv mean rounds into the range (sel. H, recommended)",
        measure=_cifar_conv("mean"),
        perturb=_mean_perturb((1.97, 2.17)),
    ),
    claim(
        "t1.cifar_conv.std_alpha",
        "Table 1",
        "ResNet-18 / VGG-11 (CIFAR-10) conv: std α 0.08–0.12",
        (0.08, 0.12),
        form="into",
        d=2,
        files=("alpha_triangle",),
        selection="each architecture's conv std (ddof 0) rounds into the range",
        measure=_cifar_conv("std"),
        perturb=_std_perturb((0.08, 0.12)),
    ),
]


def _head(b: Bundle, ctx: Context) -> Measure:
    n = network(b, "alpha_triangle", "alpha_triangle[gpt2_triangle]")
    h = n.by_name("output_head")
    cands = []
    if b.has("intrinsic_dim"):
        h2 = network(b, "intrinsic_dim", "intrinsic_dim[intrinsic_dim_gpt2]").by_name("output_head")
        cands.append(
            Candidate("intrinsic_dim → [intrinsic_dim_gpt2].results[output_head].alpha", h2.alpha, 1, same=True)
        )
    return Measure(
        h.alpha,
        "alpha_triangle → [gpt2_triangle].results[output_head] (refit)",
        [f"{n.label}/output_head"],
        cands,
        ["x-ref: App. H prints α = 2.02 for this output head"],
    )


CLAIMS.append(
    claim(
        "t1.gpt2.head.alpha",
        "Table 1",
        "GPT-2 output head α = 4.53",
        4.53,
        form="point",
        d=2,
        files=("alpha_triangle",),
        selection="the output_head row (layer type head); one row per file",
        measure=_head,
        perturb=flip(
            lambda d, o: shift_alpha(tri(d, "gpt2_triangle", "output_head"), 0.1),
            lambda d, o: set_alpha(tri(d, "gpt2_triangle", "output_head"), 4.53),
        ),
    )
)

# -- the ResNet-50 rows (Tiny-ImageNet, ImageNet-1K) ----------------------------------------------------------
CLAIMS += [
    conv_stat_claim(
        "t1.tiny.conv.mean_alpha", "tiny", "mean", 1.94, 2, "Table 1", "ResNet-50 Tiny-ImageNet conv: mean α = 1.94"
    ),
    conv_stat_claim(
        "t1.tiny.conv.std_alpha",
        "tiny",
        "std",
        0.15,
        2,
        "Table 1",
        "ResNet-50 Tiny-ImageNet conv: std α = 0.15 (ddof 0)",
    ),
    conv_stat_claim(
        "t1.tiny.conv.n", "tiny", "n", 49, None, "Table 1", "ResNet-50 Tiny-ImageNet conv: n = 49", "count"
    ),
    conv_stat_claim(
        "t1.in1k.conv.mean_alpha", "in1k", "mean", 2.10, 2, "Table 1", "ResNet-50 ImageNet-1K conv: mean α = 2.10"
    ),
    conv_stat_claim(
        "t1.in1k.conv.std_alpha",
        "in1k",
        "std",
        0.14,
        2,
        "Table 1",
        "ResNet-50 ImageNet-1K conv: std α = 0.14 (ddof 0)",
    ),
    conv_stat_claim("t1.in1k.conv.n", "in1k", "n", 14, None, "Table 1", "ResNet-50 ImageNet-1K conv: n = 14", "count"),
    fc_alpha_claim("t1.tiny.fc.alpha", "tiny", 0.90, "Table 1", "ResNet-50 Tiny-ImageNet FC (200 classes): α = 0.90"),
    fc_alpha_claim("t1.in1k.fc.alpha", "in1k", 2.83, "Table 1", "ResNet-50 ImageNet-1K FC (1000 classes): α = 2.83"),
]

# -- NO DATA: rows no file backs ---------------------------------------------------------------------------------
CLAIMS += [
    nodata(
        "t1.mlp.dense.mean_alpha",
        "Table 1",
        "Pure MLP dense: mean α 2.18",
        2.18,
        2,
        nearest="intrinsic_dim [scaling_test] MLPs (App. I, a different experiment)",
    ),
    nodata("t1.mlp.dense.std_alpha", "Table 1", "Pure MLP dense: std α 0.10", 0.10, 2),
    nodata(
        "t1.cifar_fc.mean_alpha",
        "Table 1",
        "VGG-11 / ResNet-50 (CIFAR-10) FC: α 1.23–1.65",
        (1.23, 1.65),
        2,
        nearest="VGG-11 classifier.* and ResNet-18 fc in alpha_triangle; conv_gap(_v2) fc_result (no ResNet-50 CIFAR run)",
    ),
    nodata("t1.cifar_fc.std_alpha", "Table 1", "CIFAR-10 FC: std α 0.07", 0.07, 2),
    nodata(
        "t1.gpt2.attn.mean_alpha",
        "Table 1",
        "GPT-2 (6-layer) attention: mean α 1.30",
        1.30,
        2,
        nearest="hypothesis GPT2_LM attn_qkv/attn_proj (one block)",
    ),
    nodata("t1.gpt2.attn.std_alpha", "Table 1", "GPT-2 attention: std α 0.15", 0.15, 2),
    nodata(
        "t1.gpt2.mlp.mean_alpha",
        "Table 1",
        "GPT-2 MLP: mean α 1.00",
        1.00,
        2,
        nearest="hypothesis GPT2_LM mlp_*; alpha_triangle gpt2 block{0,2,5}.mlp.* (3 of 6 blocks)",
    ),
    nodata("t1.gpt2.mlp.std_alpha", "Table 1", "GPT-2 MLP: std α 0.18", 0.18, 2),
]
