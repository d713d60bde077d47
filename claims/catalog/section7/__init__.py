"""§7 Spectral Transfer and Intrinsic Dimension, one module per subsection: :mod:`.transfer` (§7.1 the alpha
triangle, Remark 2, Cor. 8), :mod:`.intrinsic_dim` (§7.2 near-rank-one curvature, the ζ bound) and
:mod:`.spectral_newton` (§7.3 Spectral Newton vs AdamW)."""
