r"""The project's results-file contract: schema ``sad-results/1``. Torch-free.

``python -m empirics measure`` writes one JSON file per run; ``python -m claims verify`` reads every
``*.json`` file of a results folder whose top-level ``"schema"`` equals :data:`SCHEMA_VERSION`
(the authors' 15 frozen files are recognised by their file names instead).

File layout (every key below is required unless marked optional)::

    {
      "schema": "sad-results/1",
      "complete": true,                     # false while a run is in progress (resumable)
      "run": {
        "model": "resnet18_cifar",          # model-zoo name
        "architecture": "resnet18",         # family, for grouping claims per architecture
        "dataset": "digits",                # dataset name
        "dataset_kind": "real" | "synthetic",
        "n_classes": 10,                    # output dimension of the head (int, or null for LM)
        "task": "classification" | "lm",
        "batch_size": 512,                  # B: samples in the fixed measurement batch
        "k": 20,                            # requested top-k window
        "epoch": 20,                        # training epoch of the checkpoint (0 = init); optional
        "train_metrics": {...},             # optional: accuracy/loss at the checkpoint
        "dtype": "float64", "device": "cpu", "seed": 0,
        "loss": "cross_entropy",
        "run_name": "vgg11_cifar10",        # optional: the training configuration (NOT the seed), see below
        "batch_index": 0,                   # optional: index of the measurement batch (int >= 0; absent = 0)
        "experiment": {                     # optional: which of the paper's experiments this run re-measures
          "id": "cifar10_vgg11_triangle",   #   an id of empirics.experiments.EXPERIMENTS
          "proxy": false,                   #   true: stand-in data, reduced width or smoke scale
          "proxy_reason": null,             #   why it is a proxy (a str; null when proxy is false)
          "scale": "full"                   #   "full" | "smoke" | another preset scale name
        }
      },
      "provenance": {                       # free-form but always present
        "versions": {"python": ..., "torch": ..., "numpy": ...}, "git_commit": ..., "created": ISO-8601,
        "hostname": ..., "command": [...], "settings": {...},
        "git_dirty": bool | null,           # optional: uncommitted source changes when it ran (null: unknown)
        "earlier_parts": [{...}, ...]       # optional: provenance of the earlier sessions of a resumed file
      },
      "layers": [ LAYER, ... ]
    }

    LAYER = {
      "name": "layer2.0.conv1",             # stable module name
      "layer_type": one of LAYER_TYPES,     # selection is by this tag, never by name substring
      "shape": [m, n],                      # matrix view: out x (in*kh*kw) for conv
      "weight_shape": [...],                # the parameter's own shape
      "k": int,                             # directions actually measured (<= requested k, <= rank)
      "rank": int,                          # numerical rank of G
      "sigma":   [float x k],               # gradient singular values, descending
      "h_exact": [float|null x k],          # v_k^T H v_k (exact, double backprop / fwd-over-rev); null = NaN
      "h_gn":    [float|null x k],          # v_k^T H_GN v_k                         (optional)
      "h_fd":    [float|null x k],          # finite-difference curvature              (optional)
      "kron": {                             # Kronecker quantities along the same directions (optional)
          "convention": "row-major vec(u w^T) = u (x) w; H_K = C_delta (x) C_A",
          "conv_form": "naive" | "kfc" | null,
          "h_kron_ef":  [..],  "h_kron_gn": [..],  "h_sop": [..],
          "omega": [..], "chi": [..], "rho_delta": [..], "rho_A": [..],
          "lambda_delta": [..], "lambda_A": [..], "concentration_ratio": [..],
          "exponents": {"beta": .., "phi": .., "psi_omega": .., "psi_chi": .., "alpha_kron": .., ...}
      },
      "fits": {...}                         # the writer's own fits (theory.fits.summarize_layer);
                                            # readers recompute from the arrays and report drift
      "diagnostics": {"n_nonpositive_h": int, "n_nonfinite": int, "notes": [str, ...]},
      "measured_with": {                    # optional: the session that measured this layer (a resumed
        "created": ISO-8601, "git_commit": str | null, "git_dirty": bool | null,   # file has several)
        "hostname": str, "pid": int, "world_size": int
      }
    }

JSON has no NaN: non-finite numbers are written as ``null`` and counted in ``diagnostics``. A layer record
may hold further keys written by registered quantities (``empirics.quantities``, e.g. ``sigma_energy``;
docs/extending.md); readers ignore keys they do not know. ``layer_type`` ``embedding`` marks an embedding
measured as a layer (e.g. a tied embedding/output head).

Repeated measurement (optional run fields; files without them stay valid ``sad-results/1``):

* ``run.seed`` is the training seed of the checkpoint and ``run.batch_index`` (int ≥ 0, absent = 0) the index
  of the measurement batch: batches of one checkpoint are disjoint, each drawn with its own seed.
* **Replicates.** Files with the same ``run.run_name`` and the same ``run.epoch`` are measurements of one
  network: they may differ only in ``run.seed``, ``run.batch_index``, ``run.train_metrics`` and
  ``run.experiment.proxy_reason``. ``run_name`` names the training configuration and must therefore not
  contain the seed (``vgg11_cifar10``, not ``vgg11_cifar10_s1``). Every other run field (model,
  architecture, dataset, dataset_kind, n_classes, task, batch_size, k, dtype, device, loss, build_kwargs,
  experiment id/proxy/scale) must agree across the replicates, and their layers must carry the same names
  and types; the verifier refuses a folder where they do not (one line naming both files, exit 2).
  Files without ``run_name`` are each a network of their own.
* **Duplicates are refused**: two files with the same ``run_name``, ``epoch``, ``seed`` and ``batch_index``
  are the same measurement twice (a copy would count twice in every interval); the verifier names both
  files and exits 2 instead of keeping one of them silently.
* ``run.experiment`` (written by the paper preset) names the paper experiment behind number claims
  (:data:`empirics.experiments.EXPERIMENTS`: architecture, dataset, B, k, checkpoint epoch, layer rule). One id
  per file, and one ``run_name`` per experiment id: a network measured for two experiments (e.g. at k = 20 and at
  k = 25) is two runs with two ``run_name`` values. The claims each experiment serves, and the layers they need,
  are listed by ``claims.replication.catalog.covered()``;
  ``proxy: true`` marks a run on stand-in data (synthetic, digits), at reduced width or at ``scale`` other
  than ``"full"``: ``claims verify`` shows its replication verdict but never counts it as a replication
  (a ``scale`` other than ``"full"`` is treated as a proxy even if ``proxy`` says false).
"""

from __future__ import annotations

import math
from typing import Any

SCHEMA_VERSION = "sad-results/1"

#: Layer-type vocabulary. ``head`` is the layer that produces the logits / LM output;
#: ``dense`` is any other fully connected layer (pure-MLP hidden layers, VGG classifier hidden layers).
LAYER_TYPES = (
    "conv",
    "downsample",
    "dense",
    "head",
    "attn_qkv",
    "attn_proj",
    "mlp_up",
    "mlp_down",
    "patch_embed",
    "embedding",
)
CONV_TYPES = frozenset({"conv", "downsample"})
ATTENTION_TYPES = frozenset({"attn_qkv", "attn_proj"})
TRANSFORMER_MLP_TYPES = frozenset({"mlp_up", "mlp_down"})

#: optional run fields of repeated measurement and their types (validated when present)
RUN_OPTIONAL = {"run_name": str, "epoch": int, "batch_index": int, "experiment": dict}
#: keys of ``run.experiment``: ``id`` and ``scale`` are required strings, ``proxy`` a bool, ``proxy_reason`` str | null
EXPERIMENT_KEYS = ("id", "proxy", "proxy_reason", "scale")
#: run fields in which replicates of one network may differ (everything else must agree)
REPLICATE_FIELDS = ("seed", "batch_index", "train_metrics")

RUN_REQUIRED = {
    "model": str,
    "architecture": str,
    "dataset": str,
    "dataset_kind": str,
    "task": str,
    "batch_size": int,
    "k": int,
    "dtype": str,
    "device": str,
    "seed": int,
}
LAYER_REQUIRED = {
    "name": str,
    "layer_type": str,
    "shape": list,
    "k": int,
    "sigma": list,
    "h_exact": list,
}


#: optional per-layer ``measured_with`` stamp: key -> accepted types (``None`` always accepted)
MEASURED_WITH = {"created": str, "git_commit": str, "git_dirty": bool, "hostname": str, "pid": int, "world_size": int}


class SchemaError(ValueError):
    """A results file does not follow the schema; ``path`` is the JSON path of the offending item."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _check_type(value: Any, typ: type, path: str) -> None:
    if typ is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif typ is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, typ)
    if not ok:
        raise SchemaError(path, f"expected {typ.__name__}, got {type(value).__name__}")


def _check_numbers(values: Any, path: str, allow_null: bool) -> None:
    _check_type(values, list, path)
    for i, v in enumerate(values):
        if v is None and allow_null:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise SchemaError(f"{path}[{i}]", f"expected a number, got {type(v).__name__}")
        if isinstance(v, float) and not math.isfinite(v):
            raise SchemaError(f"{path}[{i}]", f"non-finite number {v!r} (JSON has none: store null)")


def _check_optional_run(run: dict) -> None:
    """The optional fields of repeated measurement (``run_name``, ``epoch``, ``batch_index``, ``experiment``)."""
    for key, typ in RUN_OPTIONAL.items():
        if key in run and not (key == "epoch" and run[key] is None):
            _check_type(run[key], typ, f"$.run.{key}")
    for key in ("epoch", "batch_index"):
        if isinstance(run.get(key), int) and run[key] < 0:
            raise SchemaError(f"$.run.{key}", f"must be >= 0, got {run[key]}")
    exp = run.get("experiment")
    if exp is None:
        return
    for key in EXPERIMENT_KEYS:
        if key not in exp:
            raise SchemaError(f"$.run.experiment.{key}", "missing")
    unknown = sorted(set(exp) - set(EXPERIMENT_KEYS))
    if unknown:
        raise SchemaError(f"$.run.experiment.{unknown[0]}", f"unknown key; the keys are {', '.join(EXPERIMENT_KEYS)}")
    for key in ("id", "scale"):
        _check_type(exp[key], str, f"$.run.experiment.{key}")
        if not exp[key]:
            raise SchemaError(f"$.run.experiment.{key}", "empty string")
    _check_type(exp["proxy"], bool, "$.run.experiment.proxy")
    if exp["proxy_reason"] is not None:
        _check_type(exp["proxy_reason"], str, "$.run.experiment.proxy_reason")
    if exp["proxy"] and not exp["proxy_reason"]:
        raise SchemaError("$.run.experiment.proxy_reason", "a proxy run must say why it is one")


def validate(doc: Any) -> None:
    """Raise :class:`SchemaError` (with the JSON path) unless ``doc`` is a valid ``sad-results/1`` file."""
    _check_type(doc, dict, "$")
    if doc.get("schema") != SCHEMA_VERSION:
        raise SchemaError("$.schema", f"expected {SCHEMA_VERSION!r}, got {doc.get('schema')!r}")
    for key in ("run", "provenance", "layers", "complete"):
        if key not in doc:
            raise SchemaError(f"$.{key}", "missing")
    _check_type(doc["complete"], bool, "$.complete")
    _check_type(doc["run"], dict, "$.run")
    _check_type(doc["provenance"], dict, "$.provenance")
    for key, typ in RUN_REQUIRED.items():
        if key not in doc["run"]:
            raise SchemaError(f"$.run.{key}", "missing")
        _check_type(doc["run"][key], typ, f"$.run.{key}")
    _check_optional_run(doc["run"])
    _check_type(doc["layers"], list, "$.layers")
    for i, layer in enumerate(doc["layers"]):
        p = f"$.layers[{i}]"
        _check_type(layer, dict, p)
        for key, typ in LAYER_REQUIRED.items():
            if key not in layer:
                raise SchemaError(f"{p}.{key}", "missing")
            _check_type(layer[key], typ, f"{p}.{key}")
        if layer["layer_type"] not in LAYER_TYPES:
            raise SchemaError(f"{p}.layer_type", f"unknown layer type {layer['layer_type']!r}; one of {LAYER_TYPES}")
        _check_numbers(layer["sigma"], f"{p}.sigma", allow_null=False)
        _check_numbers(layer["h_exact"], f"{p}.h_exact", allow_null=True)
        if len(layer["h_exact"]) != len(layer["sigma"]):
            raise SchemaError(f"{p}.h_exact", f"has {len(layer['h_exact'])} values but sigma has {len(layer['sigma'])}")
        for opt in ("h_gn", "h_fd"):
            if opt in layer:
                _check_numbers(layer[opt], f"{p}.{opt}", allow_null=True)
        if "measured_with" in layer:
            check_measured_with(layer["measured_with"], f"{p}.measured_with")
    if doc["provenance"].get("git_dirty") is not None:
        _check_type(doc["provenance"]["git_dirty"], bool, "$.provenance.git_dirty")


def check_measured_with(stamp: Any, path: str) -> None:
    """Raise :class:`SchemaError` unless ``stamp`` is a ``measured_with`` record (see the module doc)."""
    _check_type(stamp, dict, path)
    for key, typ in MEASURED_WITH.items():
        if stamp.get(key) is not None:
            _check_type(stamp[key], typ, f"{path}.{key}")


def to_jsonable(x: Any) -> Any:
    """Replace non-finite floats by ``None`` recursively (JSON has no NaN/Inf)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    return x
