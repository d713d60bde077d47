"""What one preset run is: :class:`RunSpec` (what is trained and what is measured), hashed for the cache.

Repeated measurement: a spec names its training seeds (``seeds``) and the number of disjoint measurement
batches per checkpoint (``n_batches``); :meth:`RunSpec.cells` lists the (seed, batch index) pairs and
:meth:`RunSpec.for_seed` the single-seed spec one training run uses (its ``train_key`` and the ``spec`` recorded in
each file). Every file of one spec carries the same ``run.run_name`` (the spec's ``name``, never the seed), and
its own ``run.seed`` and ``run.batch_index`` (:mod:`empirics.schema`, "Repeated measurement")."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunSpec"]


@dataclass(frozen=True)
class RunSpec:
    """One trained network and the checkpoints of it that are measured."""

    name: str  # results file stem
    model: str
    dataset: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # size knobs (recorded in run.build_kwargs)
    data_kwargs: dict[str, Any] = field(default_factory=dict)  # n_classes, image_size, context
    train_samples: int | None = None  # seeded subset of the train split used for training (None = all)
    epochs: int = 0
    train_batch_size: int = 128
    lr: float = 0.05
    optimizer: str = "sgd"
    weight_decay: float = 5e-4
    target_accuracy: float | None = None  # stop early once train accuracy reaches this
    measure_epochs: tuple[int, ...] | None = None  # None = the final epoch only
    batch_size: int = 256  # measurement batch B
    k: int = 20
    clamp_k: bool = True  # k = min(k, rank) per layer (heads: rank <= classes - 1)
    layer_types: tuple[str, ...] | None = None  # None = every tagged layer
    layer_names: tuple[str, ...] | None = None  # measured layers by name (None = every layer of layer_types)
    trajectory_layers: tuple[str, ...] | None = (
        None  # layers measured at the earlier checkpoints (None = same as final)
    )
    gn: bool = True
    kron: bool = True
    method: str = "fwd_rev"  # exact-curvature method of the engine (jvp of grad; "auto" times both first)
    seed: int = 0  # the training seed of a single-seed spec (``seeds`` None)
    seeds: tuple[int, ...] | None = None  # training seeds (None = (seed,)): one trained network per seed
    n_batches: int = 1  # disjoint measurement batches of B samples per checkpoint (batch_index 0..n-1)
    experiment: str | None = None  # the paper experiment re-measured (empirics.experiments id), if any
    scale: str = "full"  # "full", or the preset scale it was reduced to ("smoke"): a proxy unless "full"
    proxy_reason: str | None = None  # why this run is a stand-in for its experiment even at full scale
    checkpoint_epochs: tuple[int, ...] | None = None  # epochs saved by training (None = the measured ones)
    init_weights: str | None = (
        None  # a state_dict file (e.g. torchvision's ResNet-50 IMAGENET1K_V1), under the data root
    )

    def __post_init__(self) -> None:
        seeds = self.seed_list()
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"{self.name}: seeds must be distinct and at least one, got {seeds}")
        if self.n_batches < 1:
            raise ValueError(f"{self.name}: n_batches must be >= 1, got {self.n_batches}")

    def train_key(self) -> str:
        """Hash of everything that determines the trained weights."""
        keys = (
            "model",
            "dataset",
            "model_kwargs",
            "data_kwargs",
            "train_samples",
            "epochs",
            "train_batch_size",
            "lr",
            "optimizer",
            "weight_decay",
            "target_accuracy",
            "seed",
            "init_weights",
        )
        blob = json.dumps(
            {k: getattr(self, k) for k in keys} | {"measure": self.epochs_to_save()}, sort_keys=True, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def epochs_to_measure(self) -> tuple[int, ...]:
        """The epochs whose checkpoints are measured: ``measure_epochs``, or the final epoch only."""
        return tuple(self.measure_epochs) if self.measure_epochs is not None else (self.epochs,)

    def epochs_to_save(self) -> tuple[int, ...]:
        """Checkpoint epochs training writes: the measured ones, or ``checkpoint_epochs`` (a superset shared by
        specs that measure one training run for several experiments, so that it is trained once)."""
        if self.checkpoint_epochs is None:
            return self.epochs_to_measure()
        return tuple(sorted(set(self.checkpoint_epochs) | set(self.epochs_to_measure())))

    def seed_list(self) -> tuple[int, ...]:
        """The training seeds: ``seeds``, or the single ``seed``."""
        return tuple(self.seeds) if self.seeds is not None else (self.seed,)

    @property
    def repeated(self) -> bool:
        """Whether file names carry the seed and batch index (more than one seed or batch)."""
        return len(self.seed_list()) > 1 or self.n_batches > 1

    def cells(self) -> list[tuple[int, int]]:
        """Every (training seed, batch index) measured at each checkpoint."""
        return [(s, b) for s in self.seed_list() for b in range(self.n_batches)]

    def for_seed(self, seed: int) -> RunSpec:
        """The single-seed spec of one training run: what its files record as ``settings.spec``."""
        return dataclasses.replace(self, seed=seed, seeds=None, n_batches=1)

    def out_name(self, epoch: int, seed: int | None = None, batch: int = 0) -> str:
        """``<name>[_e<epoch>][_s<seed>_b<batch>].json``: the epoch when several are measured, seed and batch
        when the spec repeats (unique per file; ``run_name`` stays ``name``)."""
        stem = f"{self.name}_e{epoch}" if len(self.epochs_to_measure()) > 1 else self.name
        if self.repeated:
            stem += f"_s{self.seed if seed is None else seed}_b{batch}"
        return f"{stem}.json"
