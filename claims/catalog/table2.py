"""Table 2 (mini GPT-2, 5 epochs, synthetic LM; n = 6 per layer type): NO DATA — no file holds the six-block
model (the nearest data, one block of the hypothesis ablation, is named as a diagnostic)."""

from __future__ import annotations

from ..checks import nodata

CLAIMS = []
for _t, (_m, _lo, _hi) in {
    "attn_qkv": (1.43, 1.21, 1.63),
    "attn_proj": (1.17, 1.07, 1.34),
    "mlp_up": (0.84, 0.69, 1.04),
    "mlp_down": (1.15, 1.13, 1.19),
}.items():
    CLAIMS += [
        nodata(
            f"t2.{_t}.mean",
            "Table 2",
            f"GPT-2 {_t}: mean α {_m}",
            _m,
            2,
            nearest=f"hypothesis GPT2_LM[{_t}] (one block, not six)",
        ),
        nodata(f"t2.{_t}.range", "Table 2", f"GPT-2 {_t}: range {{printed}}", (_lo, _hi), 2),
        nodata(f"t2.{_t}.n", "Table 2", f"GPT-2 {_t}: n = 6", 6),
    ]
