r"""Replication of number claims on the project's re-measurements (docs/claims-reference.md §3.4).

A number claim is about one experiment of the paper (:mod:`empirics.experiments`). When a results folder holds
project files whose ``run.experiment.id`` names that experiment, ``claims verify`` adds a second verdict beside
the verdict on the authors' file: does the re-measurement give the printed number, within the spread a single
run of that experiment shows?

* :mod:`.spec` — what a replication computes: the claim's statistic on one run (:class:`~.spec.Spec`);
* :mod:`.catalog` — the experiment (and statistic, or the reason there is none) of every number claim;
* :mod:`.judge` — the verdict: ``replicates``, ``does not replicate``, ``inconclusive`` or ``no data``.
"""
