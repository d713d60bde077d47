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
        "loss": "cross_entropy"
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

JSON has no NaN: non-finite numbers are written as ``null`` and counted in ``diagnostics``.
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
)
CONV_TYPES = frozenset({"conv", "downsample"})
ATTENTION_TYPES = frozenset({"attn_qkv", "attn_proj"})
TRANSFORMER_MLP_TYPES = frozenset({"mlp_up", "mlp_down"})

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
