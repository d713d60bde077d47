"""What a comparison runs: :class:`CompareSpec` and the presets (``tiny``, ``cpu``, ``cpu-conv``,
``cpu-offceiling-conv``, ``cpu-offceiling-vit``, ``gpu``).

Every optimizer config of one comparison gets the same model, data, epochs, batch size, schedule and
learning-rate search budget (the same number of trials, each for the same number of epochs on the same
validation split, drawn with one search seed). Only the *centre* of the learning-rate grid differs per
optimizer family (AdamW-type steps are ~1e-3, orthogonalised steps (Muon, SN) ~1e-2); the grid's factors
around the centre, and so its size, are identical for every config.

The hybrid configs (``sn``, ``muon``) update matrix weights with their own step and every other parameter
(biases, norm gains, embeddings, positional tables) with an internal AdamW. The searched ``lr`` is the matrix
rate; the AdamW part's rate is the spec's ``adamw_lr`` (default :data:`HYBRID_ADAMW_LR` = 1e-3, the AdamW grid
centre and ``empirics.optim.ADAMW_LR``), fixed, not searched, passed explicitly to ``build_optimizer`` and
recorded in the output (``optimizers.adamw_lr`` and each hybrid run's ``adamw_lr``). The schedule scales both
parts by the same factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from empirics.compare_schema import CONFIG_NAMES

#: Learning rate of the internal AdamW of the hybrid configs (sn, muon): their non-matrix parameters.
HYBRID_ADAMW_LR = 1e-3

#: Learning-rate grid centre per config (AdamW family vs orthogonalised updates).
LR_CENTRE = {
    "adamw": 1e-3,
    "sn": 2e-2,
    "muon": 2e-2,
    "spectral_beta05": 1e-3,
    "spectral_beta10": 1e-3,
    "spectral_beta15": 1e-3,
    "inverse_spectral": 1e-3,
    "random_perlayer": 1e-3,
}


@dataclass(frozen=True)
class CompareSpec:
    r"""One optimizer comparison: model and dataset (with their knobs and subset sizes), training budget (epochs,
    batch size, schedule, weight decay, SN damping :math:`d`), the learning-rate search (grid factors, epochs,
    seed, validation fraction), the window and batch of the scalar configs' :math:`s=\alpha\gamma`, the seeds
    and the dtype."""

    name: str
    model: str
    dataset: str
    epochs: int
    batch_size: int
    seeds: tuple[int, ...]
    configs: tuple[str, ...] = CONFIG_NAMES
    model_kwargs: dict = field(default_factory=dict)
    data_kwargs: dict = field(default_factory=dict)
    train_samples: int | None = None  # seeded subset of the train split (None: all)
    test_samples: int | None = None
    schedule: str = "cosine"  # cosine (per step, to 0, no warm-up) | constant
    weight_decay: float = 0.01  # decoupled, the same for every config (torch AdamW's default)
    damping: float = 0.1  # SN's d (Table 3: d = 0.1)
    lr_factors: tuple[float, ...] = (1 / 9, 1 / 3, 1.0, 3.0, 9.0)  # grid = centre × factors, for every config
    search_epochs: int = 3
    search_seed: int = 0
    val_fraction: float = 0.2
    s_k: int = 16  # top-k window for the α, γ fits of the scalar configs' s = αγ
    s_batch: int = 256  # measurement batch (first samples of the train split)
    s_warmup_steps: int = 0  # AdamW steps before measuring s (0: the initial model)
    dtype: str = "float32"
    adamw_lr: float = HYBRID_ADAMW_LR  # the AdamW part (non-matrix parameters) of sn/muon; fixed, not searched

    def __post_init__(self) -> None:
        a = self.adamw_lr
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a) or a <= 0:
            raise ValueError(f"adamw_lr must be a finite number > 0, got {a!r}")

    def lr_grid(self, cfg: str) -> list[float]:
        """The learning-rate grid of config ``cfg``: its family's centre times each of ``lr_factors``."""
        return [LR_CENTRE[cfg] * f for f in self.lr_factors]

    def with_overrides(self, **kw) -> CompareSpec:
        """A copy with the given fields replaced (``None`` values leave a field as it is)."""
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


PRESETS: dict[str, CompareSpec] = {
    # seconds: for the tests
    "tiny": CompareSpec(
        "optim_compare_tiny",
        "mlp",
        "digits",
        epochs=2,
        batch_size=64,
        seeds=(0, 1),
        model_kwargs={"width": 32, "depth": 2},
        data_kwargs={"image_size": 8},
        train_samples=400,
        lr_factors=(1 / 3, 3.0),
        search_epochs=1,
        s_k=8,
        s_batch=128,
    ),
    # CI scale, real data (sklearn digits, 8×8 → 3×8×8), a few minutes on 2 cores
    "cpu": CompareSpec(
        "optim_compare_cpu",
        "mlp",
        "digits",
        epochs=15,
        batch_size=64,
        seeds=(42, 43, 44),
        model_kwargs={"width": 128, "depth": 2},
        data_kwargs={"image_size": 8},
        lr_factors=(1 / 9, 1 / 3, 1.0, 3.0, 9.0, 27.0),
        search_epochs=5,
    ),
    # the conv-net regime the paper claims SN for (conv α ≈ 2): ResNet-18 (width 16) on real digits at 16×16,
    # the same network and data as the shipped curvature measurements; ≈ 25 min on one CPU thread
    "cpu-conv": CompareSpec(
        "optim_compare_cpu_conv",
        "resnet18_cifar",
        "digits",
        epochs=15,
        batch_size=64,
        seeds=(42, 43, 44),
        model_kwargs={"width": 16},
        data_kwargs={"image_size": 16},
        lr_factors=(1 / 9, 1 / 3, 1.0, 3.0, 9.0, 27.0),
        search_epochs=5,
    ),
    # Off the ceiling (issue 19): the 200-class synthetic teacher task at 8×8 (the data of the shipped
    # mlp_synthetic200 curvature measurement: 4096 train / 1024 test images, every optimizer far below 100 %).
    # The conv net the paper claims SN for, with every config (SN, Muon and App. M's scalar controls):
    # ResNet-18 at width 8; ≈ 27 min on a loaded core.
    "cpu-offceiling-conv": CompareSpec(
        "optim_compare_offceiling_conv",
        "resnet18_cifar",
        "synthetic-cifar",
        epochs=8,
        batch_size=128,
        seeds=(42, 43, 44),
        model_kwargs={"width": 8},
        data_kwargs={"image_size": 8, "n_classes": 200},
        lr_factors=(1 / 3, 1.0, 3.0, 9.0, 27.0),
        search_epochs=3,
        s_k=8,
        s_batch=128,
    ),
    # ... and a transformer on the same task, with every config: a 2-block ViT (width 64, 4 heads, 2×2 patches:
    # 16 tokens + class token); ≈ 35 min on a loaded core
    "cpu-offceiling-vit": CompareSpec(
        "optim_compare_offceiling_vit",
        "vit_tiny",
        "synthetic-cifar",
        epochs=8,
        batch_size=128,
        seeds=(42, 43, 44),
        model_kwargs={"width": 64, "depth": 2, "n_head": 4, "patch": 2},
        data_kwargs={"image_size": 8, "n_classes": 200},
        lr_factors=(1 / 3, 1.0, 3.0, 9.0, 27.0),
        search_epochs=3,
    ),
    # Table 3's budget: ResNet-18, 30 epochs, seed 42 first (local CIFAR-10/100 with --data-dir, else synthetic)
    "gpu": CompareSpec(
        "optim_compare_gpu",
        "resnet18_cifar",
        "cifar10",
        epochs=30,
        batch_size=128,
        seeds=(42, 43, 44),
        search_epochs=3,
        lr_factors=(1 / 3, 1.0, 3.0),
        s_k=20,
        s_batch=256,
    ),
}
