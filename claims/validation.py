"""Validate before judging: the structural rules a results file must meet before any claim reads it.

Non-finite numbers and repeated keys are refused when a file is parsed (:mod:`claims.jsonload`); the rules
here are about the records themselves. Each violation is an :class:`~claims.errors.InputError` naming the file
and the JSON path (exit status 2, one line):

* every list of records is non-empty, and a record is not duplicated: layer names are unique within their
  block (an experiment, an ablation group, an epoch of a trajectory), blocks and epochs are unique;
* a singular-value array ``sigma`` (``sigma_top``, ``sigma_top30``) is non-empty, holds no null, no negative
  value, and is sorted in descending order;
* the arrays of one record that run over the same directions have the same length, and a stored window size
  (``top_k``, or ``k`` in the project's files) equals that length (``top_k`` bounds it where only the leading
  values are stored: intrinsic_dim's top-5, the Kronecker file's top-30);
* an author file's block names (``experiment``) are ones the verifier has a layer table for;
* the project's replicates of one network (same ``run_name`` and ``epoch``) agree on everything but seed, batch
  index and training metrics, and no measurement (``run_name``, ``epoch``, ``seed``, ``batch_index``) appears
  twice (:func:`validate_replicates`; the contract is in :mod:`empirics.schema`).

Which fields must agree with their recomputation is :mod:`claims.integrity`'s job (a failing check, not an
input error).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from empirics.schema import REPLICATE_FIELDS

from .jsonpath import Node
from .layertypes import INTRINSIC_META, TRIANGLE_META

#: per-direction arrays of a project layer's ``kron`` record (same length as ``sigma`` when present)
KRON_DIRECTION_ARRAYS = (
    "h_kron_ef",
    "h_kron_gn",
    "h_sop",
    "h_ef",
    "omega",
    "chi",
    "chi_gn",
    "rho_delta",
    "rho_A",
    "Phi",
    "Lambda",
    "lambda_delta",
    "lambda_A",
    "u_C_delta_u",
    "u_C_delta_gn_u",
    "w_C_A_w",
    "concentration_ratio",
)


# -- building blocks ---------------------------------------------------------------------------------------------
def records(node: Node, what: str) -> list[Node]:
    """The elements of a non-empty list of records."""
    items = list(node.items())
    if not items:
        raise node.error(f"empty: no {what}")
    return items


def unique(items: Iterable[Node], key: str, what: str) -> None:
    """No two of ``items`` share the value of ``key`` (a duplicated layer, block or epoch)."""
    seen: dict[object, str] = {}
    for n in items:
        v = n[key].value
        hv = tuple(v) if isinstance(v, list) else v
        if hv in seen:
            raise n[key].error(f"duplicated {what} {v!r} (also at {seen[hv]})")
        seen[hv] = n.path


def unique_pairs(items: Iterable[Node], keys: tuple[str, str], what: str) -> None:
    """No two of ``items`` share the pair of values of ``keys``."""
    seen: dict[tuple, str] = {}
    for n in items:
        v = (n[keys[0]].value, n[keys[1]].value)
        if v in seen:
            raise n.error(f"duplicated {what} {v!r} (also at {seen[v]})")
        seen[v] = n.path


def sigma(node: Node) -> int:
    """A singular-value array: non-empty, no null, ≥ 0, descending. Returns its length."""
    raw = node.value
    if not isinstance(raw, list):
        raise node.error(f"expected a list of numbers, got {type(raw).__name__}")
    if not raw:
        raise node.error("empty: no singular values")
    a = node.arr()
    null = np.flatnonzero(np.isnan(a))
    if null.size:
        raise node.error("null singular value", f"{node.path}[{null[0]}]")
    neg = np.flatnonzero(a < 0)
    if neg.size:
        raise node.error(f"negative singular value {float(a[neg[0]]):g}", f"{node.path}[{neg[0]}]")
    up = np.flatnonzero(a[1:] > a[:-1])
    if up.size:
        i = int(up[0]) + 1
        raise node.error(
            f"singular values not sorted in descending order ({float(a[i - 1]):g} then {float(a[i]):g})",
            f"{node.path}[{i}]",
        )
    return int(a.size)


def same_length(rec: Node, keys: Iterable[str], n: int, against: str) -> None:
    """Every present array of ``keys`` in ``rec`` has ``n`` entries (the length of ``against``)."""
    for k in keys:
        if rec.has(k):
            v = rec[k].value
            if not isinstance(v, list):
                raise rec[k].error(f"expected a list, got {type(v).__name__}")
            rec[k].arr()  # numbers (or null) only
            if len(v) != n:
                raise rec[k].error(f"has {len(v)} values but {against} has {n}")


def window(rec: Node, key: str, n: int, against: str, exact: bool = True) -> None:
    """The stored window size ``rec[key]`` equals (``exact``) or bounds the array length ``n``."""
    if not rec.has(key):
        return
    k = rec[key].int()
    if (k != n) if exact else (k < n):
        rel = "" if exact else "at least "
        raise rec[key].error(f"{key} = {k} but {against} has {n} values (expected {rel}{n})")


def arrays(rec: Node, sigma_key: str, others: Iterable[str], top_k: str | None = "top_k", exact: bool = True) -> None:
    """σ rules for ``sigma_key``, equal lengths for ``others``, and the window size ``top_k``."""
    n = sigma(rec[sigma_key])
    same_length(rec, others, n, sigma_key)
    if top_k:
        window(rec, top_k, n, sigma_key, exact)


def known(node: Node, table: dict, what: str) -> str:
    """The string at ``node``, which must be a key of ``table`` (a block the verifier has a layer table for)."""
    v = node.str()
    if v not in table:
        raise node.error(f"unknown {what} {v!r}; known: {', '.join(sorted(table))}")
    return v


# -- the authors' files ---------------------------------------------------------------------------------------------
def _blocks(root: Node, key: str, table: dict | None, what: str) -> list[Node]:
    blocks = records(root, f"{what} blocks")
    for blk in blocks:
        if table is not None:
            known(blk[key], table, what)
        else:
            blk[key].str()
    unique(blocks, key, what)
    return blocks


def _named(node: Node, what: str = "layers") -> list[Node]:
    recs = records(node, what)
    unique(recs, "name", "layer name")
    return recs


def _alpha_triangle(root: Node) -> None:
    for blk in _blocks(root, "experiment", TRIANGLE_META, "experiment"):
        for rec in _named(blk["results"]):
            arrays(rec, "sigma", ("h_exact",))


def _alpha_map(root: Node) -> None:  # tiny, in1k: stored fields only
    _named(root["results"])


def _hypothesis(root: Node) -> None:
    for grp in ("output_dim", "task_structure"):
        subs = root[grp].keys()
        if not subs:
            raise root[grp].error("empty: no ablation group")
        for sub in subs:
            for rec in _named(root[grp][sub]):
                arrays(rec, "sigma", ("h_exact",))


def _predictions(root: Node) -> None:
    for blk in _blocks(root, "arch", None, "architecture"):
        for rec in _named(blk["results"]):
            arrays(rec, "sigma", ("h_exact",))


def _intrinsic_dim(root: Node) -> None:
    for blk in _blocks(root, "experiment", INTRINSIC_META, "experiment"):
        recs = _named(blk["results"])
        for rec in recs:
            arrays(rec, "sigma_top", ("h_top",), exact=False)
        if all(r.has("width") for r in recs):
            unique(recs, "width", "width")


CONV_GAP_ARRAYS = {
    "conv_gap": (
        "h_exact",
        "h_kron_naive",
        "h_kron_kfc",
        "cos2_naive",
        "cos2_kfc",
        "gamma_SUD_k",
        "gamma_IAD_k",
        "cos2_predicted",
        "cos2_residual",
        "rayleigh_A_naive",
        "rayleigh_delta_naive",
        "rayleigh_A_kfc",
        "rayleigh_delta_kfc",
        "h_kron",
        "cos2_theta",
    ),
    "conv_gap_v2": (
        "h_exact",
        "h_kron",
        "h_sum_of_products",
        "h_product_of_sums",
        "concentration_ratio",
        "cos2_theta",
        "mean_uTd_sq",
        "mean_vTa_sq",
    ),
}


def _conv_gap(key: str):  # noqa: ANN202 - a validator
    def check(root: Node) -> None:
        recs = _named(root["conv_results"])
        fc = root["fc_result"]
        unique([*recs, fc], "name", "layer name")
        for rec in [*recs, fc]:
            arrays(rec, "sigma", CONV_GAP_ARRAYS[key])

    return check


def _kfac(root: Node) -> None:
    _named(root["layers"])


def _kronecker(root: Node) -> None:
    arrays_30 = ("lambda_delta_top30", "lambda_A_top30", "h_kron_top30", "rho_delta_top30", "rho_A_top30")
    for rec in _named(root["layers"]):
        arrays(rec, "sigma_top30", arrays_30, top_k="top_k_grad", exact=False)


def _model_fit(root: Node) -> None:
    layers = records(root["layers"], "layers")
    unique_pairs(layers, ("experiment", "name"), "layer (experiment, name)")


def _rmt(root: Node) -> None:
    for phase in ("phase_2a_init", "phase_1b_extended_trained"):
        for rec in _named(root[phase]["layers"]):
            arrays(rec, "sigma", ())
    traj = records(root["phase_2b_trajectory"], "trajectory epochs")
    unique(traj, "epoch", "epoch")
    for t in traj:
        for rec in _named(t["layers"]):
            arrays(rec, "sigma", ())


def _vgg16(root: Node) -> None:
    traj = records(root["trajectory"], "trajectory epochs")
    unique(traj, "epoch", "epoch")
    for t in traj:
        _named(t["layers"])


def _depth_scaling(root: Node) -> None:
    unique_pairs(records(root["rmt"]["rows"], "rows"), ("phase", "name"), "row (phase, name)")
    unique(records(root["trajectory_wins"], "trajectory epochs"), "epoch", "epoch")


def _precond(root: Node) -> None:
    cfgs = root["summary"].keys()
    if not cfgs:
        raise root["summary"].error("empty: no configuration")
    for c in cfgs:
        if not root["summary"][c]["seeds"].arr().size:
            raise root["summary"][c]["seeds"].error("empty: no seed")


AUTHOR_RULES = {
    "alpha_triangle": _alpha_triangle,
    "tiny": _alpha_map,
    "in1k": _alpha_map,
    "hypothesis": _hypothesis,
    "predictions": _predictions,
    "intrinsic_dim": _intrinsic_dim,
    "conv_gap": _conv_gap("conv_gap"),
    "conv_gap_v2": _conv_gap("conv_gap_v2"),
    "kfac_prediction": _kfac,
    "kronecker": _kronecker,
    "model_fit": _model_fit,
    "rmt": _rmt,
    "vgg16": _vgg16,
    "depth_scaling": _depth_scaling,
    "precond": _precond,
}


def validate_author(key: str, root: Node) -> None:
    """Raise :class:`InputError` unless the authors' file ``key`` meets the rules of the module docstring."""
    AUTHOR_RULES[key](root)


# -- the project's files ---------------------------------------------------------------------------------------------
def validate_project(doc: Node) -> None:
    """Rules for a ``sad-results/1`` file beyond :func:`empirics.schema.validate`: unique layer names, σ rules,
    ``k`` = the number of directions, per-direction arrays of that length, ``k`` ≤ the requested ``run.k``."""
    layers = list(doc["layers"].items())
    unique(layers, "name", "layer name")
    requested = doc["run"]["k"].int()
    for rec in layers:
        n = sigma(rec["sigma"])
        same_length(rec, ("h_exact", "h_gn", "h_fd", "gn_gap"), n, "sigma")
        window(rec, "k", n, "sigma")
        if n > requested:
            raise rec["k"].error(f"k = {n} directions but the run requested k = {requested}")
        if rec.has("kron") and isinstance(rec["kron"].value, dict):
            same_length(rec["kron"], KRON_DIRECTION_ARRAYS, n, f"{rec.path}.sigma")


def validate_optim(doc: Node) -> None:
    """Rules for a ``sad-optim/1`` file beyond :func:`empirics.compare_schema.validate`: each (config, seed) run
    once, with a non-empty accuracy curve."""
    if not doc.has("runs"):
        return
    runs = list(doc["runs"].items())
    unique_pairs(runs, ("config", "seed"), "run (config, seed)")
    for r in runs:
        curve = r["test_accuracy"]
        if not curve.arr().size:
            raise curve.error("empty: no epoch")


# -- repeated measurement: replicates of one network (empirics.schema, "Repeated measurement") ----------------
def replicate_key(run: dict) -> tuple[str, int | None] | None:
    """The network a project run measures: ``(run_name, epoch)``, or None for a file without ``run_name``
    (a network of its own)."""
    name = run.get("run_name")
    if not isinstance(name, str) or not name:
        return None
    ep = run.get("epoch")
    return name, ep if isinstance(ep, int) and not isinstance(ep, bool) else None


def replicate_identity(run: dict) -> dict:
    """The run fields every replicate of one network must share: all but seed, batch index, training metrics
    and the wording of a proxy reason (:data:`empirics.schema.REPLICATE_FIELDS`)."""
    same = {k: v for k, v in run.items() if k not in REPLICATE_FIELDS}
    if isinstance(same.get("experiment"), dict):
        same["experiment"] = {k: v for k, v in same["experiment"].items() if k != "proxy_reason"}
    return same


def cell_of(run: dict) -> tuple[int, int]:
    """(training seed, measurement batch index) of a project run (``batch_index`` absent = 0)."""
    return int(run["seed"]), int(run.get("batch_index", 0))


def validate_replicates(docs: list[Node]) -> None:
    """Files measuring one network (same ``run_name`` and ``epoch``) agree on every run field but the seed,
    the batch index and the training metrics, name their layers alike (same name → same type; complete files:
    the same set), and no (seed, batch_index) appears twice: a duplicate is refused naming both files."""
    first: dict[tuple, Node] = {}
    cells: dict[tuple, Node] = {}
    for d in sorted(docs, key=lambda n: n.file):
        run = d["run"].value
        key = replicate_key(run)
        if key is None:
            continue
        where = f"run_name {key[0]!r}" + (f", epoch {key[1]}" if key[1] is not None else "")
        cell = (*key, *cell_of(run))
        if cell in cells:
            raise d["run"].error(
                f"duplicate measurement: {cells[cell].file} has the same {where}, seed {cell[2]} and batch_index "
                f"{cell[3]} (a copy would count twice; remove one or give it its own batch_index)"
            )
        cells[cell] = d
        if key not in first:
            first[key] = d
            continue
        ref = first[key]
        mine, theirs = replicate_identity(run), replicate_identity(ref["run"].value)
        for f in sorted(set(mine) | set(theirs)):
            if mine.get(f) != theirs.get(f):
                raise d["run"].error(
                    f"replicate of {ref.file} ({where}) differs in run.{f}: {mine.get(f)!r} vs {theirs.get(f)!r}; "
                    "replicates may differ only in seed, batch_index and train_metrics"
                )
        _same_layers(d, ref, where)


def _layer_types(d: Node) -> dict[str, str]:
    return {rec["name"].str(): rec["layer_type"].str() for rec in d["layers"].items()}


def _same_layers(d: Node, ref: Node, where: str) -> None:
    mine, theirs = _layer_types(d), _layer_types(ref)
    for name in sorted(set(mine) & set(theirs)):
        if mine[name] != theirs[name]:
            raise d["layers"].error(
                f"layer {name!r} is {mine[name]} here but {theirs[name]} in {ref.file} (replicates of {where})"
            )
    if d["complete"].value is True and ref["complete"].value is True and set(mine) != set(theirs):
        odd = sorted(set(mine) ^ set(theirs))
        raise d["layers"].error(
            f"complete replicates of {where} measure different layers ({', '.join(odd[:5])} in only one of "
            f"{d.file} and {ref.file})"
        )
