"""App. F full-spectrum analysis (α per quartile of k, 2 dp): NO DATA — no file holds the full spectra."""

from __future__ import annotations

from ..checks import nodata

CLAIMS = []
for _lay, _vals4 in {"layer2.conv2": (2.07, 2.35, 2.56, 2.59), "layer3.conv2": (2.07, 2.07, 2.79, 1.93)}.items():
    for _q, _v in zip(("top12", "midhi", "midlo", "bottom"), _vals4, strict=True):
        CLAIMS.append(nodata(f"appF.{_lay}.{_q}", "App. F", f"{_lay} α on quartile {_q} = {{printed}}", _v, 2))
