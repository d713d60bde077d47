"""App. A HVP validation table (3 dp): NO DATA — no file holds the R² of h against σ², of h_GN against σ² and
of h against h_GN (conv_gap_v2's arrays of the same layers are named as the nearest data)."""

from __future__ import annotations

from ..checks import nodata

CLAIMS = []
for _lay, _vals in {
    "conv1": (0.999, 0.925, 0.929),
    "layer2.0.conv1": (0.998, 0.998, 0.997),
    "layer4.0.conv2": (0.995, 0.995, 0.998),
    "fc": (0.694, 0.869, 0.786),
    "median21": (0.998, 0.992, 0.996),
}.items():
    for _col, _v in zip(("r2_h_s2", "r2_hgn_s2", "r2_h_hgn"), _vals, strict=True):
        CLAIMS.append(
            nodata(
                f"appA.{_lay}.{_col}",
                "App. A",
                f"{_lay}: {_col} = {{printed}}",
                _v,
                3,
                nearest="conv_gap_v2 sigma/h_exact/h_kron of conv1, layer2.0.conv1, layer4.0.conv2, fc (h_kron as h_GN)",
            )
        )
