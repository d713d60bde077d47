"""App. C controlled ablations (hypothesis.json; α refit from σ, h): α before and after, and Δ, for the printed
ViT and GPT-2 layers. Δ is checked from the refit values; the Δ of the rounded printed parts is reported
alongside (docs/claims-reference.md §3.1, "Δ from rounded parts")."""

from __future__ import annotations

from ..bundle import Bundle
from ..checks import Measure, MeasureFn, claim
from ..context import Context
from ..model import Candidate
from ..perturb import flip, named, set_alpha, shift_alpha
from ..records import Layer, network

CLAIMS = []

ROWS = {  # id: (group, before, after, name, printed before, after, Δ)
    "vit.qkv": ("output_dim", "CIFAR-10", "CIFAR-100", "attn_qkv", 2.25, 1.74, -0.51),
    "vit.mlp_up": ("output_dim", "CIFAR-10", "CIFAR-100", "mlp_up", 2.12, 1.62, -0.50),
    "gpt2.mlp_up": ("task_structure", "GPT2_LM", "GPT2_Classification", "mlp_up", 0.73, 1.59, 0.86),
    "gpt2.mlp_down": ("task_structure", "GPT2_LM", "GPT2_Classification", "mlp_down", 1.15, 1.85, 0.69),
}


def _lay(b: Bundle, grp: str, sub: str, name: str) -> Layer:
    return network(b, "hypothesis", f"hypothesis[{grp}.{sub}]").by_name(name)


def _measure(grp: str, s0: str, s1: str, name: str, col: str, p0: float, p1: float) -> MeasureFn:
    def measure(b: Bundle, ctx: Context) -> Measure:
        a, c = _lay(b, grp, s0, name), _lay(b, grp, s1, name)
        fit = f"r2 = {a.r2:.3f} / {c.r2:.3f}, n_valid = {a.n_valid} / {c.n_valid}"
        refs = [f"hypothesis[{grp}.{s0}]/{name}", f"hypothesis[{grp}.{s1}]/{name}"]
        if col == "before":
            return Measure(a.alpha, f"hypothesis → {grp}.{s0}[{name}] (refit)", refs[:1], notes=[fit])
        if col == "after":
            return Measure(c.alpha, f"hypothesis → {grp}.{s1}[{name}] (refit)", refs[1:], notes=[fit])
        return Measure(
            c.alpha - a.alpha,
            f"hypothesis: {s1} − {s0} [{name}] (refit)",
            refs,
            [
                Candidate("Δ of the printed rounded parts", round(p1 - p0, 2), 2, same=True),
                Candidate(
                    "Δ of the measured values rounded first",
                    round(round(c.alpha, 2) - round(a.alpha, 2), 2),
                    2,
                    same=True,
                ),
            ],
            [fit],
        )

    return measure


def _rec(d, grp, sub, name):
    return named(d["hypothesis"][grp][sub], name)


def _perturb(grp, s0, s1, name, col, printed):
    sub = s0 if col == "before" else s1
    if col in ("before", "after"):
        return flip(
            lambda d, o: shift_alpha(_rec(d, grp, sub, name), 0.1),
            lambda d, o: set_alpha(_rec(d, grp, sub, name), printed),
        )
    return flip(
        lambda d, o: shift_alpha(_rec(d, grp, s1, name), 0.1),
        lambda d, o: shift_alpha(_rec(d, grp, s1, name), printed - o.measured),
    )


for _id, (_g, _s0, _s1, _n, _p0, _p1, _pd) in ROWS.items():
    for _col, _v in (("before", _p0), ("after", _p1), ("delta", _pd)):
        CLAIMS.append(
            claim(
                f"appC.{_id}.{_col}",
                "App. C",
                f"{_id}: α {_p0} → {_p1} (Δ {_pd:+.2f}); {_col} = {_v}",
                _v,
                form="point",
                d=2,
                files=("hypothesis",),
                selection=f"hypothesis {_g}.{{{_s0}, {_s1}}}[{_n}]",
                measure=_measure(_g, _s0, _s1, _n, _col, _p0, _p1),
                perturb=_perturb(_g, _s0, _s1, _n, _col, _v),
            )
        )
