r"""Perturbed copies of a results folder, for the "every claim can fail" tests (docs/claims-reference.md §5 req. 8).

:class:`Docs` parses the authors' files of a folder lazily; a claim's ``perturb(docs, outcome)`` edits
the parsed documents in place; :meth:`Docs.write` writes the edited files to a new folder and links
the untouched ones. The helpers edit the *raw data* that the verifier recomputes from: multiplying
:math:`h_k` by :math:`\sigma_k^{\delta}` shifts the refitted :math:`\alpha` by exactly :math:`\delta`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from theory.fits import fit_alpha, fit_gamma, fit_s, transfer_error

from .bundle import FILE_KEYS
from .layertypes import INTRINSIC_META, TRIANGLE_META, layer_type


class Docs:
    """The result files of one folder, parsed on first access and edited in place; :meth:`write` copies the edited ones
    and links the rest."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._docs: dict[str, Any] = {}
        self.deleted: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        """An author file by its key (``"tiny"``), or a project ``sad-results/1`` file by its file name."""
        if key not in self._docs:
            self._docs[key] = json.loads((self.folder / FILE_KEYS.get(key, key)).read_text())
        return self._docs[key]

    def delete(self, key: str) -> None:
        """Leave the author file ``key`` out of the written copy (to test a missing file)."""
        self.deleted.add(key)

    def write(self, dest: str | Path) -> Path:
        """Write the folder to ``dest``: edited documents as JSON, untouched ones as symlinks, deleted ones left out;
        returns ``dest``."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        for key, name in FILE_KEYS.items():
            src = self.folder / name
            if key in self.deleted or not src.exists():
                continue
            if key in self._docs:
                (dest / name).write_text(json.dumps(self._docs[key]))
            else:
                os.symlink(src.resolve(), dest / name)
        for src in sorted(self.folder.glob("*.json")):  # the project's own files, keyed by file name
            if src.name in FILE_KEYS.values() or src.name in self.deleted:
                continue
            if src.name in self._docs:
                (dest / src.name).write_text(json.dumps(self._docs[src.name]))
            else:
                os.symlink(src.resolve(), dest / src.name)
        return dest


# -- locating records ---------------------------------------------------------------------------
def block(doc: list, field: str, value: str) -> dict:
    """The single element of ``doc`` whose ``field`` equals ``value`` (unpacking fails if there is not exactly one)."""
    (b,) = [x for x in doc if x.get(field) == value]
    return b


def named(records: list, name: str) -> dict:
    """The single record of ``records`` named ``name`` (unpacking fails if there is not exactly one)."""
    (r,) = [x for x in records if x["name"] == name]
    return r


def tri(docs: Docs, exp: str, name: str | None = None) -> Any:
    """alpha_triangle block ``exp`` (its records list), or one record."""
    recs = block(docs["alpha_triangle"], "experiment", exp)["results"]
    return recs if name is None else named(recs, name)


# -- editing raw arrays -------------------------------------------------------------------------
def _alpha_key(rec: dict) -> str:
    return "alpha_exact" if "alpha_exact" in rec else "alpha"


def shift_alpha(rec: dict, delta: float) -> None:
    r"""Shift the record's α by ``delta``: :math:`h_k\leftarrow h_k\sigma_k^{\delta}` where arrays exist."""
    if "sigma" in rec and "h_exact" in rec:
        s = np.asarray(rec["sigma"], float)
        h = [None if v is None else v * (s[i] ** delta if s[i] > 0 else 1.0) for i, v in enumerate(rec["h_exact"])]
        rec["h_exact"] = h
    key = _alpha_key(rec)
    if key in rec:
        rec[key] = rec[key] + delta


def set_alpha(rec: dict, target: float) -> None:
    r"""Shift the record's :math:`\alpha` (refitted from ``sigma``/``h_exact`` where present, else the stored field) to
    ``target`` with :func:`shift_alpha`."""
    if "sigma" in rec and "h_exact" in rec:
        cur = fit_alpha(rec["sigma"], rec["h_exact"]).alpha
    else:
        cur = rec[_alpha_key(rec)]
    shift_alpha(rec, target - cur)


def pow_h(rec: dict, p: float) -> None:
    r""":math:`h_k\leftarrow h_k^{p}` on the positive curvatures: scales α, s, αγ and the error by p."""
    rec["h_exact"] = [v**p if (v is not None and v > 0) else v for v in rec["h_exact"]]


def pow_sigma(rec: dict, p: float) -> None:
    r""":math:`\sigma_k\leftarrow\sigma_k^{p}`: scales γ by p and α by 1/p."""
    rec["sigma"] = [v**p if v > 0 else v for v in rec["sigma"]]


def noise_h(rec: dict, scale: float, seed: int = 0) -> None:
    """Multiply h by log-normal noise: breaks the rank order, so s and the transfer error move."""
    rng = np.random.default_rng(seed)
    rec["h_exact"] = [v * math.exp(scale * rng.standard_normal()) if v is not None else v for v in rec["h_exact"]]


def perfect_power_law(rec: dict, alpha: float = 2.0, gamma: float = 1.0) -> None:
    r"""Replace the arrays by :math:`\sigma_k=k^{-\gamma}`, :math:`h_k=\sigma_k^\alpha` (transfer error 0, R² = 1)."""
    k = len(rec["sigma"])
    sig = [float(j**-gamma) for j in range(1, k + 1)]
    rec["sigma"] = sig
    rec["h_exact"] = [s**alpha for s in sig]


# -- flipping a verdict -------------------------------------------------------------------------
def flip(away, toward):  # noqa: ANN001, ANN201 - small combinator
    """A perturbation that moves a holding claim away from its printed value and a failing one towards it."""

    def perturb(docs: Docs, out: Any) -> None:
        (away if out.verdict == "holds" else toward)(docs, out)

    return perturb


def results_by_names(docs: Docs, key: str, names: list[str]) -> list[dict]:
    """Records of ``docs[key]["results"]`` (tiny, in1k) with these names, in order."""
    recs = docs[key]["results"]
    return [named(recs, n) for n in names]


def tri_by_refs(docs: Docs, refs: list[str]) -> list[dict]:
    """alpha_triangle records from "experiment/name" refs."""
    return [tri(docs, r.split("/", 1)[0], r.split("/", 1)[1]) for r in refs]


def rescale_about_mean(values: list[float], c: float) -> list[float]:
    r"""Spread ``values`` about their mean by the factor ``c``: :math:`\bar v+c\,(v-\bar v)` (the mean is kept)."""
    m = float(np.mean(values))
    return [m + c * (v - m) for v in values]


def rec_from_ref(docs: Docs, ref: str) -> dict:
    """The raw record behind a record reference ``"<network label>/<name>"`` (see :func:`claims.checks.ref`)."""
    label, name = ref.rsplit("/", 1) if ref.count("/") else (ref, "")
    key, _, blk = label.partition("[")
    blk = blk.rstrip("]")
    doc = docs[key]
    if key not in FILE_KEYS:  # a project file: its layer records
        return named(doc["layers"], name)
    if key in ("alpha_triangle", "intrinsic_dim"):
        return named(block(doc, "experiment", blk)["results"], name)
    if key == "predictions":
        return named(block(doc, "arch", blk)["results"], name)
    if key == "hypothesis":
        grp, sub = blk.split(".", 1)
        return named(doc[grp][sub], name)
    if key in ("conv_gap", "conv_gap_v2"):
        return doc["fc_result"] if doc["fc_result"]["name"] == name else named(doc["conv_results"], name)
    return named(doc["results"], name)  # tiny, in1k


# -- the transfer error -------------------------------------------------------------------------
def _relerr_arrays(sigma: list[float], h: list[float]) -> float:
    return transfer_error(fit_s(h).slope, fit_alpha(sigma, h).alpha, fit_gamma(sigma).slope)


def set_relerr(rec: dict, target: float) -> None:
    r"""Give the record a relative transfer error :math:`|s-\alpha\gamma|/s` equal to ``target``.

    Field records (tiny, in1k): :math:`s\leftarrow\alpha\gamma/(1\mp e)`. Array records: replace the
    arrays by :math:`\sigma_k=k^{-1}`, :math:`h_k=\sigma_k^2e^{t\sin(2.7k)}` with ``t`` found by bisection
    (the error is 0 at t = 0 and continuous in t).
    """
    if "sigma" not in rec:
        ag = rec["alpha"] * rec["gamma"]
        rec["s_hessian"] = ag / (1 - target) if rec["s_hessian"] >= ag else ag / (1 + target)
        rec["predicted_s"] = ag
        rec["triangle_relative_error"] = target
        rec["triangle_error"] = abs(rec["s_hessian"] - ag)
        return
    k = len(rec["sigma"])
    sig = [float(j) ** -1.0 for j in range(1, k + 1)]
    pat = [math.sin(2.7 * j) for j in range(1, k + 1)]

    def arrays(t: float) -> list[float]:
        return [s * s * math.exp(t * p) for s, p in zip(sig, pat, strict=True)]

    lo, hi = 0.0, 0.05
    while _relerr_arrays(sig, arrays(hi)) < target and hi < 20:
        lo, hi = hi, hi * 2
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _relerr_arrays(sig, arrays(mid)) < target:
            lo = mid
        else:
            hi = mid
    rec["sigma"], rec["h_exact"] = sig, arrays(hi)
    for fld in ("alpha", "gamma", "s_hessian", "predicted_s", "triangle_relative_error", "r2_alpha"):
        rec.pop(fld, None)


def relerr_of(rec: dict) -> float:
    r"""The record's transfer error :math:`|s-\alpha\gamma|/s`: refitted from the arrays where present, else from the
    stored ``alpha``, ``gamma`` and ``s_hessian``."""
    if "sigma" in rec:
        return _relerr_arrays(rec["sigma"], rec["h_exact"])
    return abs(rec["s_hessian"] - rec["alpha"] * rec["gamma"]) / rec["s_hessian"]


def type_of_ref(ref: str) -> str | None:
    """The layer type of an author-file record reference, from the explicit tables."""
    label, name = ref.rsplit("/", 1)
    key, _, blk = label.partition("[")
    blk = blk.rstrip("]")
    table = {
        "alpha_triangle": lambda: TRIANGLE_META[blk][2],
        "intrinsic_dim": lambda: INTRINSIC_META[blk][2],
        "tiny": lambda: "resnet50",
        "in1k": lambda: "resnet50",
        "hypothesis": lambda: "ablation",
        "predictions": lambda: "predictions",
        "conv_gap": lambda: "resnet18",
        "conv_gap_v2": lambda: "resnet18",
    }[key]()
    return layer_type(table, name)
