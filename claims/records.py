r"""Per-layer records of every network in a results folder, recomputed from the rows.

Where a record stores the raw arrays (``sigma``, ``h_exact``) the exponents are refitted with
:mod:`theory.fits` (:math:`\alpha=\mathrm{slope}_{\ln\sigma}\ln h`, :math:`\gamma`, rank-ordered
:math:`s`, the relative transfer error :math:`|s-\alpha\gamma|/s`, :math:`\mathrm{PR}_h`); where it
stores only fields (tiny, in1k, intrinsic_dim) the fields are used and the transfer error is
recomputed from them. Whether the stored fields agree with these recomputations is the job of
:mod:`claims.integrity`, not of this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from theory.fits import fit_alpha, participation_ratio, summarize_layer, transfer_error

from .bundle import FILE_KEYS, Bundle
from .errors import InputError
from .jsonpath import Node
from .layertypes import HYPOTHESIS_META, INTRINSIC_META, TRIANGLE_META, layer_type

NAN = math.nan


@dataclass
class Layer:
    r"""One layer of a network as the claims use it: name, layer type, JSON path and shape, the exponents :math:`\alpha`
    (:math:`R^2`, points used), :math:`\gamma`, :math:`s`, the transfer error :math:`|s-\alpha\gamma|/s` and
    :math:`\mathrm{PR}_h` (NaN where the file does not give them), whether they were refitted from the arrays, and
    the block of its file."""

    name: str
    type: str
    path: str  # JSON path of the record
    shape: tuple[int, ...] = ()
    alpha: float = NAN
    r2: float = NAN
    n_valid: int = 0
    gamma: float = NAN
    r2_gamma: float = NAN
    s: float = NAN
    relerr: float = NAN
    pr_h: float = NAN
    r2_s: float = NAN
    from_arrays: bool = False
    block: str = ""  # the block inside its file (experiment / arch / group), "" for single-network files
    extra: dict = field(default_factory=dict)

    @property
    def predicted_s(self) -> float:
        r"""The transfer identity's prediction :math:`s=\alpha\gamma`."""
        return self.alpha * self.gamma


@dataclass
class Network:
    """One measured network (a block of a file, or one project file)."""

    key: str  # file key ("alpha_triangle", ...) or "project"
    file: str
    label: str  # e.g. "alpha_triangle[resnet18_triangle]"
    arch: str
    dataset: str
    layers: list[Layer]
    task: str = ""  # "lm" for language-model heads (vocabulary, not classes); else classification
    run_name: str = ""  # project files: the training run this checkpoint belongs to
    epoch: int | None = None  # project files: the checkpoint's epoch (None = not recorded)

    def __post_init__(self) -> None:
        if not self.task:
            self.task = "lm" if self.dataset == "synthetic LM" else "classification"

    def finish(self) -> Network:
        """Stamp every layer with the block named in the network's label (``file[block]``); returns the network."""
        blk = self.label[self.label.find("[") + 1 : -1] if "[" in self.label else ""
        for lay in self.layers:
            lay.block = blk
        return self

    def of_type(self, *types: str) -> list[Layer]:
        """The layers whose type is one of ``types``, in file order."""
        return [lay for lay in self.layers if lay.type in types]

    def by_name(self, name: str) -> Layer:
        """The single layer named ``name``; raises :class:`InputError` when there is none or more than one."""
        hits = [lay for lay in self.layers if lay.name == name]
        if len(hits) != 1:
            raise InputError(self.file, f"{self.label}[name={name!r}]", f"{len(hits)} records named {name!r}")
        return hits[0]


def _typed(net_file: Node, table: str, name_node: Node) -> str:
    name = name_node.str()
    t = layer_type(table, name)
    if t is None:
        raise name_node.error(f"layer {name!r} is not in the explicit {table} layer-type table")
    return t


def _from_arrays(rec: Node, name: str, typ: str, full: bool) -> Layer:
    sigma, h = rec["sigma"].arr(), rec["h_exact"].arr()
    if sigma.size != h.size:
        raise rec["h_exact"].error(f"has {h.size} values but sigma has {sigma.size}")
    shape = tuple(int(x) for x in rec["shape"].arr()) if rec.has("shape") else ()
    if full:
        sm = summarize_layer(sigma, h)  # type: ignore[arg-type]  # fits accepts arrays
        lay = Layer(
            name,
            typ,
            rec.path,
            shape,
            sm.alpha.alpha,
            sm.alpha.r2,
            sm.alpha.n_valid,
            sm.gamma.slope,
            sm.gamma.r2,
            sm.s.slope,
            sm.transfer_error,
            sm.pr_h,
            sm.s.r2,
            True,
        )
    else:
        fa = fit_alpha(sigma, h)  # type: ignore[arg-type]
        pr = participation_ratio(h[np.isfinite(h) & (h > 0)])
        lay = Layer(name, typ, rec.path, shape, fa.alpha, fa.r2, fa.n_valid, pr_h=pr, from_arrays=True)
    lay.extra["sigma"], lay.extra["h"] = sigma, h
    return lay


def _from_fields(rec: Node, name: str, typ: str) -> Layer:
    shape = tuple(int(x) for x in rec["shape"].arr()) if rec.has("shape") else ()
    lay = Layer(name, typ, rec.path, shape, rec["alpha"].num(), rec["r2_alpha"].num())
    if rec.has("gamma"):
        lay.gamma, lay.r2_gamma = rec["gamma"].num(), rec["r2_gamma"].num()
    if rec.has("s_hessian"):
        lay.s = rec["s_hessian"].num()
        lay.relerr = transfer_error(lay.s, lay.alpha, lay.gamma)
    if rec.has("eff_rank_curvature_pr"):
        lay.pr_h = rec["eff_rank_curvature_pr"].num()
    return lay


def _networks_of(b: Bundle, key: str) -> list[Network]:  # noqa: C901 - one branch per file layout
    root = b.node(key)
    if root is None:
        return []
    out: list[Network] = []
    f = root.file
    if key == "alpha_triangle":
        for blk in root.items():
            exp = blk["experiment"].str()
            if exp not in TRIANGLE_META:
                raise blk["experiment"].error(f"unknown experiment {exp!r}")
            arch, ds, table = TRIANGLE_META[exp]
            net = Network(key, f, f"alpha_triangle[{exp}]", arch, ds, [])
            for rec in blk["results"].items():
                nm = rec["name"].str()
                net.layers.append(_from_arrays(rec, nm, _typed(root, table, rec["name"]), True))
            out.append(net.finish())
    elif key in ("tiny", "in1k"):
        net = Network(key, f, key, root["model"].str(), root["dataset"].str(), [])
        for rec in root["results"].items():
            nm = rec["name"].str()
            net.layers.append(_from_fields(rec, nm, _typed(root, "resnet50", rec["name"])))
        out.append(net.finish())
    elif key == "hypothesis":
        for grp in ("output_dim", "task_structure"):
            g = root[grp]
            for sub in g.keys():
                arch, ds = HYPOTHESIS_META.get((grp, sub), ("?", sub))
                net = Network(key, f, f"hypothesis[{grp}.{sub}]", arch, ds, [])
                for rec in g[sub].items():
                    nm = rec["name"].str()
                    net.layers.append(_from_arrays(rec, nm, _typed(root, "ablation", rec["name"]), False))
                out.append(net.finish())
    elif key == "predictions":
        for blk in root.items():
            arch = blk["arch"].str()
            net = Network(key, f, f"predictions[{arch}]", arch, "CIFAR-10", [])
            for rec in blk["results"].items():
                nm = rec["name"].str()
                net.layers.append(_from_arrays(rec, nm, _typed(root, "predictions", rec["name"]), False))
            out.append(net.finish())
    elif key == "intrinsic_dim":
        for blk in root.items():
            exp = blk["experiment"].str()
            if exp not in INTRINSIC_META:
                raise blk["experiment"].error(f"unknown experiment {exp!r}")
            arch, ds, table = INTRINSIC_META[exp]
            net = Network(key, f, f"intrinsic_dim[{exp}]", arch, ds, [])
            for rec in blk["results"].items():
                nm = rec["name"].str()
                lay = _from_fields(rec, nm, _typed(root, table, rec["name"]))
                lay.extra["pr_grad"] = rec["eff_rank_gradient_pr"].num()
                lay.extra["alpha_gamma_product"] = rec["alpha_gamma_product"].num()
                lay.extra["n_total_directions"] = rec["n_total_directions"].num()
                if rec.has("width"):
                    lay.extra["width"] = rec["width"].num()
                net.layers.append(lay)
            out.append(net.finish())
    elif key in ("conv_gap", "conv_gap_v2"):
        net = Network(key, f, key, "ResNet-18", "CIFAR-10", [])
        for rec in root["conv_results"].items():
            nm = rec["name"].str()
            net.layers.append(_from_arrays(rec, nm, _typed(root, "resnet18", rec["name"]), False))
        fc = root["fc_result"]
        net.layers.append(_from_arrays(fc, fc["name"].str(), _typed(root, "resnet18", fc["name"]), False))
        out.append(net.finish())
    return out


#: the files whose records carry a per-layer α (the populations of the law claims).
ALPHA_FILES = (
    "alpha_triangle",
    "tiny",
    "in1k",
    "hypothesis",
    "predictions",
    "intrinsic_dim",
    "conv_gap",
    "conv_gap_v2",
)


def _project_network(doc: Node) -> Network:
    run = doc["run"]
    net = Network(
        "project", doc.file, doc.file, run["architecture"].str(), run["dataset"].str(), [], task=run["task"].str()
    )
    raw = run.value
    net.run_name = str(raw.get("run_name") or "")
    ep = raw.get("epoch")
    net.epoch = ep if isinstance(ep, int) and not isinstance(ep, bool) else None
    for rec in doc["layers"].items():
        nm = rec["name"].str()
        lay = _from_arrays(rec, nm, rec["layer_type"].str(), True)
        if rec.has("kron") and isinstance(rec["kron"].value, dict):
            lay.extra["kron"] = rec["kron"]
        net.layers.append(lay)
    return net


def networks(b: Bundle, key: str) -> list[Network]:
    """The networks of one author file key, or of all project files (``key="project"``); cached per bundle."""
    cache = b.memo.setdefault("networks", {})
    if key not in cache:
        cache[key] = [_project_network(d) for d in b.project] if key == "project" else _networks_of(b, key)
    return cache[key]


def trajectories(nets: list[Network]) -> dict[str, list[tuple[int, Network]]]:
    """Project checkpoints grouped by ``run.run_name``, each run's ``(epoch, network)`` sorted by epoch;
    files without a run name or epoch belong to no trajectory."""
    runs: dict[str, list[tuple[int, Network]]] = {}
    for n in nets:
        if n.run_name and n.epoch is not None:
            runs.setdefault(n.run_name, []).append((n.epoch, n))
    return {r: sorted(c, key=lambda t: t[0]) for r, c in runs.items()}


def final_checkpoints(nets: list[Network]) -> list[Network]:
    """The trained networks: of each training run (:func:`trajectories`) only the last checkpoint. Earlier
    checkpoints of a trajectory (App. E style) are not separate trained networks, so the law claims about
    trained layers do not count them; files without a run name or epoch are all kept."""
    last = {r: c[-1][0] for r, c in trajectories(nets).items()}
    return [n for n in nets if not (n.run_name and n.epoch is not None) or n.epoch == last[n.run_name]]


def network(b: Bundle, key: str, label: str) -> Network:
    """The network of file ``key`` with label ``label``; raises :class:`InputError` naming the block when absent."""
    for net in networks(b, key):
        if net.label == label:
            return net
    blk = label[label.find("[") + 1 : -1] if "[" in label else label
    raise InputError(FILE_KEYS.get(key, key), f"$[{blk}]", "block not found")


def all_networks(b: Bundle) -> list[Network]:
    """Every network of the authors' α files and of the project's own results, in file order."""
    return [n for k in (*ALPHA_FILES, "project") for n in networks(b, k)]


def ref(net: Network, lay: Layer) -> str:
    """A record reference: the network label and the record name (parsed back by claims.perturb.rec_from_ref)."""
    return f"{net.label}/{lay.name}"


def names(layers: list[Layer]) -> list[str]:
    """The layers' names, in order."""
    return [lay.name for lay in layers]


def record_file(record: str) -> str | None:
    """The file name behind a record reference (``"<network label>/<name>"``, an author file's label starting
    with its key, a project file's label being its file name), or None when the reference names no file."""
    if "/" not in record:
        return None
    label = record.rsplit("/", 1)[0]
    key = label.split("[", 1)[0]
    if key in FILE_KEYS:
        return FILE_KEYS[key]
    return label if label.endswith(".json") else None
