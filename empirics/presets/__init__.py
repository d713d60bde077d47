"""Presets: train a few networks, measure them with the engine, write one ``sad-results/1`` file per run.

``python -m empirics run --preset cpu --out results/`` (the shipped default results; reduced widths on
digits, the text corpus and a synthetic many-class task, float64 on CPU) and ``--preset paper`` (the paper's
sweep at its batch sizes and k, for a GPU; needs the local datasets, or ``--synthetic-fallback`` to substitute
the synthetic teacher task of the same shape, recorded as ``dataset_kind: "synthetic"``).

Modules: :mod:`~empirics.presets.spec` (:class:`RunSpec`: what is trained — model, size knobs, data,
epochs/criterion, optimizer — and what is measured — checkpoint epochs, measurement batch B, k, layer types),
:mod:`~empirics.presets.tables` (the ``cpu`` and ``paper`` lists), :mod:`~empirics.presets.run` (training,
caching, measuring, writing through :class:`empirics.output.RunWriter`), :mod:`~empirics.presets.cli`
(``python -m empirics run``).
"""

from empirics.presets.cli import register_cli, run_cli
from empirics.presets.spec import RunSpec
from empirics.presets.tables import CPU_PRESET, PAPER_PRESET, PRESETS

__all__ = ["RunSpec", "CPU_PRESET", "PAPER_PRESET", "PRESETS", "register_cli", "run_cli"]
