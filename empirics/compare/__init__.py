"""Optimizer comparison harness (issue 8): AdamW, Spectral Newton, Muon and App. M's scalar per-layer
configs, trained with the same model, data, epochs, batch size, schedule and learning-rate search budget,
written as a ``sad-optim/1`` file (:mod:`empirics.compare_schema`) that ``python -m claims verify`` judges.

Modules: :mod:`~empirics.compare.spec` (what runs; presets ``tiny``, ``cpu``, ``gpu``),
:mod:`~empirics.compare.run` (s = αγ measurement, learning-rate search, cells, atomic writes, resume),
:mod:`~empirics.compare.cli` (``python -m empirics compare``). The summary block is built by
:func:`empirics.compare_schema.summarize_runs`.
"""
