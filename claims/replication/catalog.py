"""The experiment behind every number claim (:data:`empirics.experiments.EXPERIMENTS`), the statistic a
re-measurement computes for it (:class:`~claims.replication.spec.Spec`), or the reason there is none.

:data:`ASSIGNED` maps a claim id to ``(experiment id, spec)`` — a replication is computed — or to
``(experiment id, reason)`` — the experiment is named but its statistic cannot be recomputed from a project run
— or to ``("", reason)`` — the claim is about no single experiment (a pooled count, metadata, an analytic
value). The registry copies this onto the claims (``Claim.experiment``, ``Claim.replicate``,
``Claim.experiment_note``); a test checks that every number claim is assigned.
"""

from __future__ import annotations

from typing import Any

from .spec import Spec, agg, bic_counts, chi_exponent, conc_median, custom, one, span

TINY, IN1K = "tiny_imagenet_resnet50", "imagenet1k_resnet50_pretrained"
RN18, VGG11, GPT2 = "cifar10_resnet18_triangle", "cifar10_vgg11_triangle", "synthetic_lm_gpt2_triangle"
GPT6, MLP = "synthetic_lm_gpt2_6block", "cifar10_mlp_dense"
CONV = ("conv",)
CONV_DS = ("conv", "downsample")

ASSIGNED: dict[str, tuple[str, Spec | str]] = {}


def _set(cid: str, experiment: str, what: Spec | str) -> None:
    assert cid not in ASSIGNED, cid
    ASSIGNED[cid] = (experiment, what)


# -- §3 and Table 1: the ResNet-50 α maps and the CIFAR / GPT-2 rows ---------------------------------------------
for _cid, _exp, _how, _types, _band in (
    ("s3.tiny.conv.median_alpha", TINY, "median", CONV, "alpha"),
    ("t1.tiny.conv.mean_alpha", TINY, "mean", CONV, "alpha"),
    ("t1.tiny.conv.std_alpha", TINY, "std", CONV, ""),
    ("s3.in1k.conv.median_alpha", IN1K, "median", CONV_DS, "alpha"),
    ("t1.in1k.conv.mean_alpha", IN1K, "mean", CONV_DS, "alpha"),
    ("t1.in1k.conv.std_alpha", IN1K, "std", CONV_DS, ""),
):
    _set(_cid, _exp, agg(_exp, "alpha", _how, _types, f"{_how} α of the {'/'.join(_types)} layers", band=_band))
for _cid, _exp, _types in (
    ("s3.tiny.conv.n", TINY, CONV),
    ("t1.tiny.conv.n", TINY, CONV),
    ("s3.in1k.conv.n", IN1K, CONV_DS),
    ("t1.in1k.conv.n", IN1K, CONV_DS),
):
    _set(
        _cid, _exp, agg(_exp, "alpha", "n", _types, f"number of {'/'.join(_types)} layers", form="count", band="count")
    )
_set("s3.tiny.conv.min_r2", TINY, agg(TINY, "r2", "min", CONV, "min R² of the conv α fits", form="ge"))
_set("s3.in1k.conv.min_r2", IN1K, agg(IN1K, "r2", "min", CONV_DS, "min R² of the conv α fits", form="ge"))
for _cid, _exp in (
    ("s3.fc.alpha_200_vs_1000.tiny", TINY),
    ("t1.tiny.fc.alpha", TINY),
    ("s3.fc.alpha_200_vs_1000.in1k", IN1K),
    ("t1.in1k.fc.alpha", IN1K),
):
    _set(_cid, _exp, one(_exp, "fc", "alpha", "α of fc", band="alpha"))
_set("s3.in1k.triangle.median_err", IN1K, agg(IN1K, "rel", "median", (), "median rel err (%), all rows", band="rel"))
_set("s7.in1k.triangle.median_err", IN1K, agg(IN1K, "rel", "median", (), "median rel err (%), all rows", band="rel"))
_set("s7.tiny.triangle.median_err", TINY, agg(TINY, "rel", "median", (), "median rel err (%), all rows", band="rel"))
_set("appH.tiny.median", TINY, agg(TINY, "rel", "median", (), "median rel err (%), all rows", band="rel"))
_set("appH.tiny.n_layers", TINY, agg(TINY, "rel", "n", (), "rows with a rel err", form="count", band="count"))
_set("s3.rn18.conv.median_r2", RN18, agg(RN18, "r2", "median", CONV, "median R² of the conv α fits (PROXY claim)"))
_set("t1.gpt2.head.alpha", GPT2, one(GPT2, "output_head", "alpha", "α of the output head", band="alpha"))
for _cid, _exp, _types in (
    ("t1.mlp.dense", MLP, ("dense",)),
    ("t1.gpt2.attn", GPT6, ("attn_qkv", "attn_proj")),
    ("t1.gpt2.mlp", GPT6, ("mlp_up", "mlp_down")),
):
    _set(f"{_cid}.mean_alpha", _exp, agg(_exp, "alpha", "mean", _types, f"mean α of {'/'.join(_types)}", band="alpha"))
    _set(f"{_cid}.std_alpha", _exp, agg(_exp, "alpha", "std", _types, f"std α (ddof 0) of {'/'.join(_types)}"))
for _cid in ("t1.cifar_conv.mean_alpha", "t1.cifar_conv.std_alpha"):
    _set(_cid, RN18, "a range spanned by two experiments (ResNet-18 and VGG-11): no single-run statistic to replicate")
for _cid in ("t1.cifar_fc.mean_alpha", "t1.cifar_fc.std_alpha"):
    _set(_cid, VGG11, "pools VGG-11 and a ResNet-50 CIFAR run the paper does not describe: no single experiment")

# -- Table 2: the 6-block GPT-2 on the synthetic LM ----------------------------------------------------------------
for _t in ("attn_qkv", "attn_proj", "mlp_up", "mlp_down"):
    _set(f"t2.{_t}.mean", GPT6, agg(GPT6, "alpha", "mean", (_t,), f"mean α of the {_t} layers", band="alpha"))
    _set(f"t2.{_t}.range", GPT6, span(GPT6, "alpha", (_t,), f"(min, max) α of the {_t} layers", band="alpha"))
    _set(f"t2.{_t}.n", GPT6, agg(GPT6, "alpha", "n", (_t,), f"number of {_t} layers", form="count", band="count"))

# -- Figure 1 panels, App. H rows ---------------------------------------------------------------------------------
for _p, (_exp, _name) in {
    "a": (RN18, "layer2.0.conv1"),
    "b": (RN18, "fc"),
    "c": (GPT2, "block0.mlp.0"),
    "d": (VGG11, "features.0"),
}.items():
    _set(f"fig1.panel_alpha.{_p}", _exp, one(_exp, _name, "alpha", f"α of {_name}", band="alpha"))
_H_ROWS = {
    "resnet18": (RN18, ("conv1", "layer1.0.conv1", "layer4.0.conv2")),
    "vgg11": (VGG11, ("features.0", "classifier.0")),
    "gpt2": (GPT2, ("block2.mlp.0", "block5.mlp.2", "output_head")),
}
for _arch, (_exp, _names) in _H_ROWS.items():
    for _name in _names:
        for _f in ("gamma", "alpha", "s", "alpha_gamma", "err", "rel"):
            _band = {"alpha": "alpha", "rel": "rel"}.get(_f, "")
            _set(f"appH.{_arch}.{_name}.{_f}", _exp, one(_exp, _name, _f, f"{_f} of {_name}", band=_band))

# -- App. B (participation ratios), App. D (conv gap), App. E (training dynamics), App. G ---------------------------
_B = {
    "rn.conv1": ("cifar10_resnet18_intrinsic_dim", "conv1"),
    "rn.layer3.conv1": ("cifar10_resnet18_intrinsic_dim", "layer3.0.conv1"),
}
_B["gpt2.block5.mlp.0"] = ("gpt2_intrinsic_dim", "block5.mlp.0")
for _key, (_exp, _name) in _B.items():
    _set(f"appB.{_key}.n", _exp, one(_exp, _name, "n_dirs", f"min dimension of {_name}", form="count", band="count"))
    _set(f"appB.{_key}.pr_h", _exp, one(_exp, _name, "pr_h", f"PR_h of {_name}", band="pr"))
    _set(f"appB.{_key}.pr_grad", _exp, "PR_grad's window (all singular values or the top k) is not recorded")
_GAP = "cifar10_resnet18_conv_gap"
for _name in ("conv1", "layer2.0.conv1", "layer4.0.conv2", "fc"):
    _set(f"appD.{_name}.alpha", _GAP, one(_GAP, _name, "alpha", f"α of {_name}", band="alpha"))
    _set(f"appD.{_name}.conc", _GAP, custom(_GAP, conc_median(_GAP, _name), f"median SoP/PoS of {_name}"))
    _set(
        f"appD.{_name}.chi",
        _GAP,
        custom(_GAP, chi_exponent(_GAP, _name), f"round(log10 median χ) of {_name}", form="count", band="count"),
    )
_set("appD.layer2.0.conv1.slope_nonneg", _GAP, "a qualitative threshold reading, not a printed number")
_DYN = "cifar10_resnet18_training_dynamics"
for _lay, _name in {
    "conv1": "conv1",
    "layer2.conv2": "layer2.0.conv2",
    "layer4.conv2": "layer4.0.conv2",
    "fc": "fc",
}.items():
    for _ep in (0, 1, 5, 10, 15, 20):
        _set(
            f"appE.{_lay}.e{_ep}",
            _DYN,
            one(_DYN, _name, "alpha", f"α of {_name} at epoch {_ep}", band="alpha", epoch=_ep),
        )
_RMT = "tiny_imagenet_resnet50_rank_trajectory"
_set(
    "appG.tiny.init.bic",
    _RMT,
    custom(_RMT, bic_counts(_RMT), "(PL, EXP, LN) BIC winners at init", form="tuple", band="bic", epoch=0),
)
_set(
    "appG.tiny.trained.bic",
    _RMT,
    custom(_RMT, bic_counts(_RMT), "(PL, EXP, LN) BIC winners, trained", form="tuple", band="bic", epoch=25),
)
_set(
    "appG.tiny.exp_wins_0_to_25",
    _RMT,
    "two checkpoints in one printed pair (epoch 0 → 25): see appG.tiny.init/trained.bic",
)
_set("appG.cifar.bic", RN18, "pooled over the three CIFAR triangle experiments (ResNet-18, VGG-11, GPT-2)")

# -- named experiments whose statistic a project run does not give ---------------------------------------------------
_REASONS: dict[str, tuple[str, str]] = {
    "appA.": ("cifar10_resnet18_hvp_validation", "the R² definition (linear r² or log-log R²) is not stated"),
    "appC.": ("cifar10_vit_tiny_ablation", "the authors do not record which block they measured"),
    "appF.": ("cifar10_resnet18_quartiles", "the quartile boundaries of the 50 directions are not stated"),
    "appI.": ("cifar10_mlp_width_scaling", "one printed value per width: four networks under one experiment id"),
    "appK.": ("tiny_imagenet_vgg16_rank_trajectory", "the project's zoo has no VGG-16"),
    "appL.": ("tiny_imagenet_resnet50_kronecker", "the project's kron block does not store the App. L factor spectra"),
    "appM.": ("appM_resnet18_cifar10", "judged directly on a sad-optim/1 file of App. M's experiment when present"),
    "t3.rn18_c10.": ("t3_resnet18_cifar10", "judged directly on a sad-optim/1 file of this Table 3 row"),
    "t3.rn18_c100.": ("t3_resnet18_cifar100", "judged directly on a sad-optim/1 file of this Table 3 row"),
    "t3.rn50_c100.": ("t3_resnet50_cifar100", "judged directly on a sad-optim/1 file of this Table 3 row"),
    "s7.sn.gains.cifar10": ("t3_resnet18_cifar10", "judged directly on the Table 3 comparison files"),
    "s7.sn.gains.cifar100": ("t3_resnet18_cifar100", "two Table 3 rows (ResNet-18 and ResNet-50 CIFAR-100)"),
    "s7.pr.width_delta": ("cifar10_mlp_width_scaling", "a difference of two networks (width 64 and 512)"),
    "fig6.": ("cifar10_resnet18_conv_gap", "a correlation over five layers of one run: not yet recomputed from kron"),
    "disc.vgg16.": ("tiny_imagenet_vgg16_rank_trajectory", "the project's zoo has no VGG-16"),
    "disc.rn50.": ("tiny_imagenet_resnet50_rank_trajectory", "an argmax epoch over a trajectory"),
    "disc.gpt2.": (GPT2, "a parameter count, not a measurement"),
    "s6.mlp_up.": ("gpt2_lm_ablation", "the authors do not record which block they measured"),
    "fig5.": (RN18, "a qualitative reading pooled over the three triangle experiments"),
}
_NO_EXPERIMENT: dict[str, str] = {
    "abs.": "pooled over several experiments (the three α-map files)",
    "intro.": "pooled over several experiments (the three α-map files)",
    "fig2.": "pooled over several experiments (the three α-map files)",
    "s7.triangle.": "pooled over several experiments (the three α-map files)",
    "s7.cifar.": "pooled over the three CIFAR triangle experiments",
    "appH.cifar.": "pooled over the three CIFAR triangle experiments",
    "appH.cnn.": "pooled over two experiments (ResNet-18 and VGG-11)",
    "setup.": "a setting of all experiments, not a measurement of one",
    "repro.": "metadata of the authors' package",
    "s7.zeta_bound.": "an analytic value",
    "s7.sn.cost": "a property of the authors' unpublished implementation",
    "appL.synthetic": "no experiment is described",
}


def assignment(cid: str) -> tuple[str, Any]:
    """(experiment id or "", Spec or the reason) of number claim ``cid``; ("", "") when unassigned."""
    if cid in ASSIGNED:
        return ASSIGNED[cid]
    for prefix, (exp, why) in _REASONS.items():
        if cid.startswith(prefix):
            return exp, why
    for prefix, why in _NO_EXPERIMENT.items():
        if cid.startswith(prefix):
            return "", why
    return "", ""


def covered() -> dict[str, list[str]]:
    """Experiment id → the number claims a re-measurement of it replicates (a statistic is defined): what a
    preset must re-measure, with the experiment's layers, for those claims to get a replication verdict."""
    out: dict[str, list[str]] = {}
    for cid, (exp, what) in ASSIGNED.items():
        if isinstance(what, Spec):
            out.setdefault(exp, []).append(cid)
    return out
