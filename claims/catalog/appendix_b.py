"""App. B participation-ratio table: n, PR_h and PR_grad of three intrinsic_dim records selected by name."""

from __future__ import annotations

from ..bundle import Bundle
from ..checks import Measure, MeasureFn, claim
from ..context import Context
from ..model import Candidate
from ..perturb import block, flip, named
from ..records import network

CLAIMS = []

ROWS = {  # id suffix: (experiment, record, n, PR_h, PR_grad)
    "rn.conv1": ("intrinsic_dim_resnet", "conv1", 27, 1.7, 4.6),
    "rn.layer3.conv1": ("intrinsic_dim_resnet", "layer3.0.conv1", 256, 1.2, 37.4),
    "gpt2.block5.mlp.0": ("intrinsic_dim_gpt2", "block5.mlp.0", 384, 1.0, 2.6),
}
FIELDS = {"n": "n_total_directions", "pr_h": "eff_rank_curvature_pr", "pr_grad": "eff_rank_gradient_pr"}


def _measure(exp: str, name: str, col: str) -> MeasureFn:
    def measure(b: Bundle, ctx: Context) -> Measure:
        lay = network(b, "intrinsic_dim", f"intrinsic_dim[{exp}]").by_name(name)
        v = {"n": lay.extra["n_total_directions"], "pr_h": lay.pr_h, "pr_grad": lay.extra["pr_grad"]}[col]
        cands = []
        if col == "n":
            v = int(v)
            cands.append(Candidate("min(shape)", min(lay.shape) if lay.shape else None, 1))
        return Measure(
            v, f"intrinsic_dim → [{exp}].results[{name}].{FIELDS[col]}", [f"intrinsic_dim[{exp}]/{name}"], cands
        )

    return measure


def _perturb(exp, name, col, printed):
    def rec(d):
        return named(block(d["intrinsic_dim"], "experiment", exp)["results"], name)

    step = 1 if col == "n" else 0.2
    return flip(
        lambda d, o: rec(d).__setitem__(FIELDS[col], rec(d)[FIELDS[col]] + step),
        lambda d, o: rec(d).__setitem__(FIELDS[col], printed),
    )


for _sfx, (_exp, _name, *_vals) in ROWS.items():
    for _col, _v in zip(("n", "pr_h", "pr_grad"), _vals, strict=True):
        CLAIMS.append(
            claim(
                f"appB.{_sfx}.{_col}",
                "App. B",
                f"{_exp.split('_')[-1]} {_name}: {_col} = {_v}",
                _v,
                form="count" if _col == "n" else "point",
                d=None if _col == "n" else 1,
                files=("intrinsic_dim",),
                selection=f"intrinsic_dim [{_exp}] record {_name}",
                measure=_measure(_exp, _name, _col),
                perturb=_perturb(_exp, _name, _col, _v),
            )
        )
