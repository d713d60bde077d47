r"""The project's measurements grouped into networks: the replicates (training seed × measurement batch) of one
``run.run_name`` at one ``run.epoch`` form one :class:`Replicated` network (contract: :mod:`empirics.schema`,
"Repeated measurement"; refused duplicates and disagreeing replicates: :func:`claims.validation.validate_replicates`).

A law judges a replicated network once, on its **point network**: every scalar field of every layer (α, R², γ,
s, transfer error, PR_h) is the balanced hierarchical mean over its cells — mean over the batches of a seed,
then over the seeds (:func:`claims.uncertainty.resample.point_weights`); a network measured once is its single
file, unchanged. The spread over cells becomes the verdict's interval (:mod:`claims.uncertainty.units`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from empirics.experiments import is_proxy

from .bundle import Bundle
from .records import Layer, Network, networks
from .uncertainty.resample import cell_weights, label_seed, point_weights, weighted_means
from .validation import cell_of, replicate_key

#: the scalar per-layer fields averaged over a network's cells
MEAN_FIELDS = ("alpha", "r2", "gamma", "r2_gamma", "s", "relerr", "pr_h", "r2_s")


@dataclass
class Cell:
    """One measurement: a training seed, a measurement batch, and the network its file holds."""

    seed: int
    batch: int
    net: Network
    experiment: dict | None = None


@dataclass
class Replicated:
    """One network measured on ``cells`` (sorted by seed, then batch), and its point network."""

    label: str
    run_name: str
    epoch: int | None
    cells: list[Cell]
    point: Network = field(init=False)

    def __post_init__(self) -> None:
        self.point = self.cells[0].net if len(self.cells) == 1 else self._mean_network()

    # -- design ------------------------------------------------------------------------------------------
    @property
    def seed_index(self) -> np.ndarray:
        """The seed of every cell as 0 … S−1 (in seed order)."""
        seeds = sorted({c.seed for c in self.cells})
        return np.array([seeds.index(c.seed) for c in self.cells])

    @property
    def n_seeds(self) -> int:
        return len({c.seed for c in self.cells})

    @property
    def batches(self) -> list[int]:
        """The number of batches of every seed (in seed order)."""
        return [int(n) for n in np.bincount(self.seed_index)]

    @property
    def files(self) -> list[str]:
        return [c.net.file for c in self.cells]

    @property
    def experiment(self) -> dict | None:
        return self.cells[0].experiment

    @property
    def proxy(self) -> bool:
        return self.experiment is not None and is_proxy(self.experiment)

    def describe(self) -> str:
        b = self.batches
        per = f"{b[0]}" if len(set(b)) == 1 else f"{min(b)}–{max(b)}"
        return f"{self.n_seeds} seed{'s' if self.n_seeds != 1 else ''} × {per} batch{'es' if per != '1' else ''}"

    def values(self, names: list[str], value) -> np.ndarray:  # noqa: ANN001 - Layer -> float
        """``(n_cells, n_layers)``: ``value(layer)`` of each named layer in each cell (NaN where absent)."""
        out = np.full((len(self.cells), len(names)), np.nan)
        for i, c in enumerate(self.cells):
            by = {x.name: x for x in c.net.layers}
            for j, nm in enumerate(names):
                if nm in by:
                    v = value(by[nm])
                    out[i, j] = v if v is not None and math.isfinite(v) else np.nan
        return out

    def weights(self, b: Bundle, draws: int, seed: int) -> np.ndarray:
        """The ``(draws, n_cells)`` resampling weights of this network, drawn once per evaluation settings."""
        memo = b.memo.setdefault("cell_weights", {})
        key = (self.label, draws, seed)
        if key not in memo:
            rng = np.random.default_rng([seed, label_seed(self.label)])
            memo[key] = cell_weights(self.seed_index, draws, rng)
        return memo[key]

    # -- the point network ---------------------------------------------------------------------------------
    def _mean_network(self) -> Network:
        first = self.cells[0].net
        names = [x.name for x in first.layers if all(_has(c.net, x.name) for c in self.cells)]
        w = point_weights(self.seed_index)
        layers = []
        for nm in names:
            cells = [c.net.by_name(nm) for c in self.cells]
            ref = cells[0]
            lay = Layer(nm, ref.type, ref.path, ref.shape, from_arrays=all(x.from_arrays for x in cells))
            for f in MEAN_FIELDS:
                setattr(lay, f, float(weighted_means(w, np.array([[getattr(x, f)] for x in cells]))[0]))
            lay.n_valid = min(x.n_valid for x in cells)
            lay.extra = dict(ref.extra)
            lay.extra["cells"] = cells
            layers.append(lay)
        net = Network("project", first.file, self.label, first.arch, first.dataset, layers, task=first.task)
        net.run_name, net.epoch = self.run_name, self.epoch
        return net


def _has(net: Network, name: str) -> bool:
    return any(x.name == name for x in net.layers)


def groups(b: Bundle) -> list[Replicated]:
    """Every replicated network of the folder (files without ``run_name`` are networks of their own), in the
    order of their first file; cached per bundle."""
    if "replicated" in b.memo:
        return b.memo["replicated"]
    nets = networks(b, "project")
    by: dict[object, list[Cell]] = {}
    names: dict[object, tuple[str, str, int | None]] = {}
    for doc, net in zip(b.project, nets, strict=True):
        run = doc["run"].value
        key = replicate_key(run)
        seed, batch = cell_of(run)
        gk: object = key if key is not None else ("file", net.file)
        by.setdefault(gk, []).append(Cell(seed, batch, net, run.get("experiment")))
        if key is None:
            names[gk] = (net.file, "", net.epoch)
        else:
            names[gk] = (key[0] + (f"@e{key[1]}" if key[1] is not None else ""), key[0], key[1])
    out = []
    for gk, cells in by.items():
        cells.sort(key=lambda c: (c.seed, c.batch))
        label, run_name, epoch = names[gk]
        out.append(Replicated(label if len(cells) > 1 else cells[0].net.file, run_name, epoch, cells))
    b.memo["replicated"] = out
    return out


def final_groups(b: Bundle) -> list[Replicated]:
    """The trained networks: of each training run only the last checkpoint (all its replicates); networks
    without a run name or epoch are all kept (as :func:`claims.records.final_checkpoints`)."""
    last: dict[str, int] = {}
    for g in groups(b):
        if g.run_name and g.epoch is not None:
            last[g.run_name] = max(last.get(g.run_name, g.epoch), g.epoch)
    return [g for g in groups(b) if not (g.run_name and g.epoch is not None) or g.epoch == last[g.run_name]]


def group_of(b: Bundle, net: Network) -> Replicated | None:
    """The replicated network whose point network is ``net`` (None for an authors' network)."""
    if net.key != "project":
        return None
    for g in groups(b):
        if g.point is net:
            return g
    return None


def trajectories(b: Bundle) -> dict[str, list[tuple[int, Replicated]]]:
    """Replicated networks grouped by ``run.run_name``: ``(epoch, network)`` sorted by epoch (runs with an epoch)."""
    runs: dict[str, list[tuple[int, Replicated]]] = {}
    for g in groups(b):
        if g.run_name and g.epoch is not None:
            runs.setdefault(g.run_name, []).append((g.epoch, g))
    return {r: sorted(c, key=lambda t: t[0]) for r, c in runs.items()}


def record_files(b: Bundle, label: str) -> list[str]:
    """The files behind a network label of this folder: a replicated network's every file (else [])."""
    for g in groups(b):
        if g.label == label:
            return g.files
    return []
