"""Presets: train networks with several seeds, measure each checkpoint on several disjoint batches with the
engine, write one ``sad-results/1`` file per (checkpoint, seed, batch).

``python -m empirics run --preset cpu --out results/`` (the shipped default results: 7 networks × 3 seeds × 5
batches at reduced widths on digits, the text corpus and a synthetic many-class task, float64 on CPU) and
``--preset paper`` (one run per paper experiment behind a re-measurable number claim, written with
``run.experiment``, at the paper's batch sizes and k, for a GPU; needs the local datasets and torchvision's
ResNet-50 weights, or ``--synthetic-fallback`` to substitute the synthetic teacher task of the same shape, recorded
as ``dataset_kind: "synthetic"`` and a proxy). ``--scale smoke`` runs the same runs and experiment identities at
toy size (:mod:`~empirics.presets.scales`). docs/presets.md lists the runs, the experiments the paper preset does
not re-measure and why, and what "reproducible" means for these files.

Modules: :mod:`~empirics.presets.spec` (:class:`RunSpec`: what is trained — model, size knobs, data,
epochs/criterion, optimizer, seeds — and what is measured — checkpoint epochs, measurement batch B and the number
of batches, k, layers, the paper experiment), :mod:`~empirics.presets.tables` (the ``cpu`` and ``paper`` lists),
:mod:`~empirics.presets.scales` (``full`` and ``smoke``), :mod:`~empirics.presets.run` (training, caching,
measuring, writing through :class:`empirics.output.RunWriter`), :mod:`~empirics.presets.cli`
(``python -m empirics run``).
"""

from empirics.presets.cli import register_cli, run_cli
from empirics.presets.spec import RunSpec
from empirics.presets.tables import CPU_PRESET, PAPER_PRESET, PRESETS

__all__ = ["RunSpec", "CPU_PRESET", "PAPER_PRESET", "PRESETS", "register_cli", "run_cli"]
