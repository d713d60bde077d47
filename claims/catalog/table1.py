"""Table 1 rows with backing data besides ResNet-50 (see resnet50.py): the CIFAR-10 conv range
(ResNet-18, VGG-11; sel. H) and the GPT-2 output head."""

from __future__ import annotations

from ..checks import Measure, claim, mean, std
from ..model import Candidate
from ..perturb import flip, rec_from_ref, rescale_about_mean, set_alpha, shift_alpha, tri
from ..records import network, networks

CLAIMS = []
ARCHS = ("resnet18_triangle", "vgg11_triangle")


def _conv(b, exp):
    n = network(b, "alpha_triangle", f"alpha_triangle[{exp}]")
    return n, n.of_type("conv", "downsample")


def _cifar_conv(stat):
    f = {
        "mean": lambda L: mean(x.alpha for x in L),
        "std": lambda L: std([x.alpha for x in L], 0),
        "std1": lambda L: std([x.alpha for x in L], 1),
    }

    def measure(b):
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
            from theory.fits import fit_alpha

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


def _head(b):
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
