r"""Uncertainty of the law verdicts on the project's own measurements (docs/claims-reference.md §3.5).

* :mod:`.resample` — the nested bootstrap: seeds, batches within a seed, layers (for population statistics),
  and the small-sample widening of the percentile interval;
* :mod:`.judge` — bands as regions, an interval against a region (``holds`` / ``fails`` / ``inconclusive``),
  and the rules that combine judged units (every, most, some);
* :mod:`.units` — the judged units of the law claims built from the project's replicated networks.

The authors' files are one frozen measurement each: their values enter as fixed points (no interval), and a
law judged on the authors' files alone is judged exactly as before (no bootstrap runs).
"""
