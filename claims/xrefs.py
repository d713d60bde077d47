"""Internal consistency of the paper: printed number vs printed number (docs/claims-reference.md §1 "x-ref", docs/theory-reference.md G21).

These involve no data and are reported apart from the data checks: each line evaluates, from the
printed numbers themselves, whether the two printed statements agree at their printed precision
(the "≈" band of docs/claims-reference.md §3.2 where one side is approximate). They are not claims and are not counted in the summary.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class XRef:
    """Two printed statements of the paper that should agree, whether they do at their printed precision, and why."""

    id: str
    a: str  # "location: value"
    b: str
    consistent: bool
    why: str


XREFS = (
    XRef(
        "abs.triangle.n_layers~intro",
        "Abstract / Remark 2 / Fig. 2: 93 layers",
        "Intro contribution 2: 89 layers",
        93 == 89,
        "counts differ",
    ),
    XRef(
        "appH.cifar.n_layers~appG",
        "App. H: CIFAR 20 layers",
        "App. G: k = 20, 24 CIFAR layers",
        20 == 24,
        "counts differ",
    ),
    XRef(
        "appH~appD.layer4.0.conv2",
        "App. H: layer4.0.conv2 α = 2.81",
        "App. D: layer4.0.conv2 α = 2.23",
        2.81 == 2.23,
        "same layer name, different α (App. D uses a 7×7-stem ResNet-18, App. H a 3×3 stem)",
    ),
    XRef(
        "appH~appD.conv1",
        "App. H: conv1 α = 1.80",
        "App. D: conv1 α = 1.99",
        1.80 == 1.99,
        "same layer name, different α",
    ),
    XRef(
        "s3.rn18.conv.median_r2~appA",
        "§3: R² = 0.98 (median, 21 ResNet-18 layers)",
        "App. A: median R²(h, σ²) = 0.998",
        round(0.998, 2) == 0.98,
        "0.98 ≠ 0.998 at 2 dp (1.00)",
    ),
    XRef(
        "t1.gpt2.head~appH",
        "Table 1: GPT-2 output head α = 4.53",
        "App. H: output_head α = 2.02",
        4.53 == 2.02,
        "setups never distinguished",
    ),
    XRef(
        "t1.gpt2.mlp~appH",
        "Table 1: GPT-2 MLP α = 1.00",
        "App. H: GPT-2 MLP α = 2.04–2.08",
        2.04 <= 1.00 <= 2.08,
        "setups never distinguished",
    ),
    XRef(
        "s6.mlp_up~t2~appC",
        "§6.2: up-projection α ≈ 0.8",
        "Table 2: 0.84; App. C: 0.73",
        round(0.84, 1) == 0.8 and round(0.73, 1) == 0.8,
        "0.73 rounds to 0.7",
    ),
    XRef(
        "abs.alpha.attention~t2",
        "Abstract: attention α ≈ 1",
        "Table 2: QKV mean 1.43, proj 1.17",
        abs(1.43 - 1) <= 0.15 and abs(1.17 - 1) <= 0.15,
        "1.43 is not ≈ 1 within 0.15",
    ),
    XRef(
        "abs.alpha.mlp_up~t1~t2",
        "Abstract: MLP up α < 1",
        "Table 1: MLP 1.00; Table 2: up range 0.69–1.04",
        1.00 < 1 and 1.04 < 1,
        "range exceeds 1",
    ),
    XRef(
        "s7.pr.width_delta~appI",
        "§7: width 64 → 512 changes PR by 0.7",
        "App. I: 2.5 → 3.3 (Δ 0.8)",
        round(3.3 - 2.5, 1) == 0.7,
        "3.3 − 2.5 = 0.8",
    ),
    XRef(
        "s7.pr_h.range~appI",
        "§7: PR_h ∈ [1.0, 1.8]",
        "App. I: PR 2.5–3.3",
        1.0 <= 2.5 and 3.3 <= 1.8,
        "App. I values lie outside the range",
    ),
    XRef(
        "appG.exp_wins~appG.table",
        "App. G text: EXP wins 6 → 15",
        "App. G table: init EXP = 3",
        6 == 3,
        "two different init snapshots (phase_2a_init vs trajectory epoch 0)",
    ),
    XRef(
        "appE.epochs",
        "App. E text: epochs 0,1,3,5,10,15,20",
        "App. E table: columns 0,1,5,10,15,20",
        {0, 1, 3, 5, 10, 15, 20} == {0, 1, 5, 10, 15, 20},
        "no epoch-3 column",
    ),
    XRef(
        "appF~s3.quartiles",
        "§3: α stable across quartiles of k",
        "App. F: 2.07 → 2.59 and 2.07/2.07/2.79/1.93",
        max(2.07, 2.35, 2.56, 2.59) - min(2.07, 2.35, 2.56, 2.59) <= 0.15 and 2.79 - 1.93 <= 0.15,
        "the table is not stable",
    ),
    XRef(
        "fig2~abs.median",
        "Fig. 2: median rel. error 1.3 %",
        "Abstract: ≈2 % median error",
        round(1.3) == 2,
        "1.3 rounds to 1",
    ),
    XRef(
        "appK~disc.vgg16",
        "§8: VGG-16 mixed PL/EXP by epoch 15–25",
        "App. K table: epoch 25 LN = 6 (plurality)",
        not 6 > max(4, 5),
        "log-normal keeps the plurality",
    ),
    XRef(
        "s7.sn.gains~t3",
        "§7: SN gains +1.1 % (C10), +2.4–3.5 % (C100)",
        "Table 3: 93.8 − 92.7 = 1.1; 75.0 − 71.5 = 3.5; 75.0 − 72.6 = 2.4",
        round(93.8 - 92.7, 1) == 1.1 and round(75.0 - 71.5, 1) == 3.5 and round(75.0 - 72.6, 1) == 2.4,
        "differences of the Table 3 cells",
    ),
)


def render() -> str:
    """The x-ref lines of ``verify --xrefs``: a count line, then each pair marked ok or INCONSISTENT."""
    bad = sum(not x.consistent for x in XREFS)
    lines = [f"x-refs (printed vs printed, no data; not counted above): {len(XREFS)} checked, {bad} inconsistent"]
    for x in XREFS:
        lines.append(f"  [{'ok' if x.consistent else 'INCONSISTENT'}] {x.id}: {x.a}  vs  {x.b}  ({x.why})")
    return "\n".join(lines)
