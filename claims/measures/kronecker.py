r"""The conv gap (§6.4, App. D, Fig. 6): per direction the alignment ratio :math:`\chi_k=h^{\rm exact}_k/h^{\rm Kron}_k`
and the concentration ratio SoP/PoS, recomputed from conv_gap(_v2)'s arrays (sel. E: per-layer median; the FC
placeholder direction with :math:`h^{\rm exact}\le 0` is excluded from χ), and from project files that store
``kron.chi`` / ``kron.concentration_ratio``."""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.fits import ols

from ..bundle import Bundle
from ..jsonpath import Node
from ..perturb import named
from ..records import Layer
from ..replicates import Replicated, final_groups


def raw_record(b: Bundle, key: str, name: str) -> Node:
    """The conv_results (or fc_result) record ``name`` of conv_gap / conv_gap_v2."""
    root = b.need(key)
    fc = root["fc_result"]
    return fc if fc["name"].str() == name else root["conv_results"].where("name", name)


def chi_of(rec: Node) -> tuple[np.ndarray, np.ndarray, int]:
    """χ_k = h_exact/h_kron on directions with h_exact > 0 and h_kron > 0; returns (χ, σ, #excluded)."""
    h, hk, s = rec["h_exact"].arr(), rec["h_kron" if rec.has("h_kron") else "h_kron_kfc"].arr(), rec["sigma"].arr()
    ok = (h > 0) & (hk > 0) & (s > 0)
    return h[ok] / hk[ok], s[ok], int((~ok).sum())


def conc_of(rec: Node, how: str = "median") -> float:
    """The per-layer concentration statistic: median (or mean) of SoP/PoS over the directions."""
    r = rec["h_sum_of_products"].arr() / rec["h_product_of_sums"].arr()
    return float(np.median(r) if how == "median" else np.mean(r))


def slope_of(rec: Node) -> float:
    """OLS slope of log χ on log σ."""
    chi, s, _ = chi_of(rec)
    return ols(np.log(s), np.log(chi)).slope


def conv_layers(b: Bundle) -> list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]]:
    """(label, name, χ array, σ array, conc ratios) for every conv layer of the authors' conv_gap_v2 (the
    project's layers: :func:`project_conv`)."""
    out = []
    if b.has("conv_gap_v2"):
        root = b.need("conv_gap_v2")
        for rec in root["conv_results"].items():
            chi, s, _ = chi_of(rec)
            conc = rec["h_sum_of_products"].arr() / rec["h_product_of_sums"].arr()
            out.append(("conv_gap_v2", rec["name"].str(), chi, s, conc))
    return out


def layer_arrays(x: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(χ, σ, conc ratios) of one project layer's ``kron`` block: χ > 0 on directions with σ > 0 (empty
    arrays when the layer has no ``kron.chi``)."""
    k = x.extra.get("kron")
    if k is None or not k.has("chi"):
        return np.array([]), np.array([]), np.array([])
    chi = k["chi"].arr()
    ok = np.isfinite(chi) & (chi > 0) & (x.extra["sigma"] > 0)
    conc = k["concentration_ratio"].arr() if k.has("concentration_ratio") else np.array([])
    return chi[ok], x.extra["sigma"][ok], conc[np.isfinite(conc)]


def project_conv(b: Bundle) -> list[tuple[Replicated, list[str]]]:
    """The project's trained networks with conv layers that store ``kron.chi``: (network, layer names)."""
    out = []
    for g in final_groups(b):
        names = [x.name for x in g.point.of_type("conv", "downsample") if layer_arrays(x)[0].size]
        if names:
            out.append((g, names))
    return out


def v2_record(docs: Any, name: str) -> dict:
    """The raw conv_gap_v2 record ``name`` of a perturbable copy."""
    v2 = docs["conv_gap_v2"]
    return v2["fc_result"] if v2["fc_result"]["name"] == name else named(v2["conv_results"], name)


def v2_conv(docs: Any) -> list[dict]:
    """The conv records of a perturbable conv_gap_v2 copy."""
    return docs["conv_gap_v2"]["conv_results"]
