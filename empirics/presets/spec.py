"""What one preset run is: :class:`RunSpec` (what is trained and what is measured), hashed for the cache."""

from __future__ import annotations

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
    trajectory_layers: tuple[str, ...] | None = (
        None  # layers measured at the earlier checkpoints (None = same as final)
    )
    gn: bool = True
    kron: bool = True
    method: str = "fwd_rev"  # exact-curvature method of the engine (jvp of grad; "auto" times both first)
    seed: int = 0
    init_weights: str | None = (
        None  # a state_dict file (e.g. torchvision's ResNet-50 IMAGENET1K_V1), under the data root
    )

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
            {k: getattr(self, k) for k in keys} | {"measure": self.epochs_to_measure()}, sort_keys=True, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def epochs_to_measure(self) -> tuple[int, ...]:
        return tuple(self.measure_epochs) if self.measure_epochs is not None else (self.epochs,)

    def out_name(self, epoch: int) -> str:
        return f"{self.name}_e{epoch}.json" if len(self.epochs_to_measure()) > 1 else f"{self.name}.json"
