"""Do two ``sad-results/1`` files hold the same measurement? Per field, the largest relative difference.

    python -m benchmarks.records_agree NEW_DIR REF_DIR FILE.json [FILE.json ...]

For every layer (matched by name) and every numeric array or number of its record (``sigma``, ``h_exact``,
``h_gn``, the ``kron`` sub-record, ``fits``; not ``timing``, ``measured_at``, ``measured_with``, ``chunk_size``), the largest
difference relative to the reference array's largest magnitude, and for ``sigma``/``h_exact`` also the
largest elementwise relative difference. Two kinds of fields sit at round-off by construction and are
compared on another scale: ``gn_gap`` (:math:`h^{\rm exact}-h^{\rm GN}`, ~1e-17 on piecewise-linear layers)
relative to the record's largest :math:`|h^{\rm exact}|`, and the identity residuals ``kron.checks.*``
(already dimensionless) as absolute differences. Key sets, list lengths, nulls and non-numeric values (notes, methods)
must match exactly; mismatches are listed. Exit status 0 when every field agrees within ``--rtol``
(default 1e-10), else 1.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

__all__ = ["compare_records", "main"]

SKIP = frozenset({"timing", "measured_at", "measured_with", "chunk_size"})  # provenance and timings


def _numeric_list(v: Any) -> bool:
    return (
        isinstance(v, list)
        and bool(v)
        and all(x is None or (isinstance(x, (int, float)) and not isinstance(x, bool)) for x in v)
    )


def _walk(a: Any, b: Any, path: str, out: dict[str, Any], h_scale: float = 0.0) -> None:
    field = path.split("].", 1)[-1].split("[")[0]
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            out["mismatch"].append(f"{path}: keys differ {sorted(set(a) ^ set(b))}")
        for k in a:
            if k in b and k not in SKIP:
                _walk(a[k], b[k], f"{path}.{k}", out, h_scale)
    elif _numeric_list(a) and _numeric_list(b):
        if len(a) != len(b):
            out["mismatch"].append(f"{path}: {len(a)} vs {len(b)} values")
            return
        scale = max((abs(y) for y in b if y is not None and math.isfinite(y)), default=0.0)
        if field == "gn_gap":
            scale = h_scale
        for x, y in zip(a, b, strict=True):
            if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
                if not (x == y or (x is not None and y is not None and math.isnan(x) and math.isnan(y))):
                    out["mismatch"].append(f"{path}: {x} vs {y}")
                continue
            d = abs(x - y)
            _worst(out["scaled"], field, d / scale if scale else d)
            if field in ("sigma", "h_exact") and y != 0:
                _worst(out["elementwise"], field, d / abs(y))
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out["mismatch"].append(f"{path}: {len(a)} vs {len(b)} items")
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{path}[{i}]", out, h_scale)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isfinite(a) and math.isfinite(b):
            absolute = field.startswith("kron.checks.") or not b
            _worst(out["scaled"], field, abs(a - b) if absolute else abs(a - b) / abs(b))
        elif not (math.isnan(a) and math.isnan(b)) and a != b:
            out["mismatch"].append(f"{path}: {a} vs {b}")
    elif a != b:
        out["mismatch"].append(f"{path}: {str(a)[:80]!r} vs {str(b)[:80]!r}")


def _worst(table: dict[str, float], key: str, value: float) -> None:
    table[key] = max(table.get(key, 0.0), value)


def compare_records(new: dict, ref: dict) -> dict[str, Any]:
    """``{"layers": n, "scaled": {field: max rel}, "elementwise": {...}, "mismatch": [...]}`` of two documents."""
    out: dict[str, Any] = {"layers": len(ref["layers"]), "scaled": {}, "elementwise": {}, "mismatch": []}
    names_new = [r["name"] for r in new["layers"]]
    names_ref = [r["name"] for r in ref["layers"]]
    if names_new != names_ref:
        out["mismatch"].append(f"layers differ: {names_new} vs {names_ref}")
    by_name = {r["name"]: r for r in new["layers"]}
    for rec in ref["layers"]:
        if rec["name"] in by_name:
            h = [abs(v) for v in rec.get("h_exact", []) if v is not None and math.isfinite(v)]
            _walk(by_name[rec["name"]], rec, f"layers[{rec['name']}]", out, max(h, default=0.0))
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: compare each named file of NEW_DIR with REF_DIR; 0 when every numeric field is within ``--rtol``
    and nothing that must match exactly differs (layer names, keys, lengths, strings), else 1."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.records_agree", description=__doc__.splitlines()[0])
    p.add_argument("new")
    p.add_argument("ref")
    p.add_argument("files", nargs="+")
    p.add_argument("--rtol", type=float, default=1e-10)
    a = p.parse_args(argv)
    ok = True
    for f in a.files:
        r = compare_records(json.loads((Path(a.new) / f).read_text()), json.loads((Path(a.ref) / f).read_text()))
        worst = max(r["scaled"].values(), default=0.0)
        el = r["elementwise"]
        print(
            f"{f}: {r['layers']} layers; max rel. difference to each array's scale {worst:.2e} "
            f"(h_exact {r['scaled'].get('h_exact', 0):.2e}, h_gn {r['scaled'].get('h_gn', 0):.2e}); "
            f"elementwise sigma {el.get('sigma', 0):.2e}, h_exact {el.get('h_exact', 0):.2e}; "
            f"{len(r['mismatch'])} mismatch(es)"
        )
        for m in r["mismatch"][:5]:
            print("   ", m)
        ok = ok and worst <= a.rtol and not r["mismatch"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
