"""Presets: train a few networks, measure them with the engine, write one ``sad-results/1`` file per run.

``python -m empirics run --preset cpu --out results/`` (the shipped default results; reduced widths on
digits, the text corpus and a synthetic many-class task, float64 on CPU) and ``--preset paper`` (the paper's
sweep at its batch sizes and k, for a GPU; needs the local datasets, or ``--synthetic-fallback`` to substitute
the synthetic teacher task of the same shape, recorded as ``dataset_kind: "synthetic"``).

Each :class:`RunSpec` says what is trained (model, size knobs, data, epochs/criterion, optimizer) and what is
measured (checkpoint epochs, measurement batch B, k, layer types). One results file per measured checkpoint:
``<name>.json``, or ``<name>_e<epoch>.json`` when a run measures several epochs (α over training, App. E).
Resumable: a complete file is skipped; a partial one is resumed layer by layer (``results_io.load_for_resume``);
checkpoints are cached (``--cache-dir``, default ``$SAD_CACHE`` or ``~/.cache/sad-verify``) keyed by a hash
of the training settings, so a rerun does not retrain.
The measurement batch is the first B samples of a seeded permutation of the train split (the same batch at
every checkpoint of a run).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from empirics.data import SYNTHETIC_STANDIN, Dataset, DatasetNotFound, data_root, load_dataset, loss_for
from empirics.train import _build_args, train
from empirics.zoo import ARCHITECTURES, build_model, layer_table


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


# ------------------------------------------------------------------------------------------------ presets

_DIGITS16 = {"image_size": 16}

CPU_PRESET: list[RunSpec] = [
    RunSpec(
        "mlp_digits",
        "mlp",
        "digits",
        {"width": 128, "depth": 2},
        {"image_size": 8},
        epochs=30,
        train_batch_size=64,
        lr=0.05,
        batch_size=512,
        k=20,
    ),
    RunSpec(
        "resnet18_digits",
        "resnet18_cifar",
        "digits",
        {"width": 16},
        _DIGITS16,
        epochs=10,
        train_batch_size=64,
        lr=0.05,
        measure_epochs=(0, 1, 5, 10),
        batch_size=64,
        k=20,
        trajectory_layers=("conv1", "layer2.0.conv2", "layer4.0.conv2", "fc"),
    ),
    RunSpec(
        "vgg11_digits",
        "vgg11",
        "digits",
        {"width": 16, "dropout": 0.0},
        _DIGITS16,
        epochs=10,
        train_batch_size=64,
        lr=1e-3,
        optimizer="adamw",
        batch_size=64,
        k=20,
    ),
    RunSpec(
        "vit_digits",
        "vit_tiny",
        "digits",
        {"width": 32, "depth": 2, "n_head": 2, "patch": 4},
        _DIGITS16,
        epochs=20,
        train_batch_size=64,
        lr=2e-3,
        optimizer="adamw",
        weight_decay=0.05,
        batch_size=128,
        k=20,
    ),
    RunSpec(
        "gpt2_text",
        "gpt2",
        "text",
        {"d_model": 64, "n_head": 4, "n_layer": 6},
        {"context": 32},
        train_samples=4096,
        epochs=3,
        train_batch_size=32,
        lr=2e-3,
        optimizer="adamw",
        weight_decay=0.01,
        batch_size=32,
        k=20,
    ),
    RunSpec(
        "gpt2_text_cls",
        "gpt2",
        "text-cls",
        {"d_model": 64, "n_head": 4, "n_layer": 6, "task": "classification"},
        {"context": 32},
        train_samples=4096,
        epochs=1,
        train_batch_size=32,
        lr=1e-3,
        optimizer="adamw",
        weight_decay=0.01,
        batch_size=32,
        k=20,
    ),
    RunSpec(
        "mlp_synthetic200",
        "mlp",
        "synthetic-cifar",
        {"width": 128, "depth": 1},
        {"n_classes": 200, "image_size": 8},
        train_samples=4096,
        epochs=20,
        train_batch_size=64,
        lr=0.05,
        batch_size=512,
        k=20,
    ),
]

PAPER_PRESET: list[RunSpec] = [
    RunSpec(
        "resnet18_cifar10",
        "resnet18_cifar",
        "cifar10",
        epochs=20,
        train_batch_size=128,
        lr=0.1,
        measure_epochs=(0, 1, 3, 5, 10, 15, 20),
        batch_size=2048,
        k=20,
    ),
    RunSpec(
        "resnet18_7x7_cifar10",
        "resnet18_imagenet",
        "cifar10",
        epochs=20,
        train_batch_size=128,
        lr=0.1,
        batch_size=2048,
        k=20,
    ),
    RunSpec(
        "vgg11_cifar10",
        "vgg11",
        "cifar10",
        {"classifier_layers": 2, "hidden": 256},
        epochs=30,
        train_batch_size=128,
        lr=0.01,
        batch_size=2048,
        k=20,
    ),
    RunSpec(
        "resnet50_cifar10", "resnet50_cifar", "cifar10", epochs=20, train_batch_size=128, lr=0.1, batch_size=2048, k=20
    ),
    RunSpec(
        "resnet50_tiny",
        "resnet50_tiny",
        "tiny-imagenet",
        epochs=25,
        train_batch_size=128,
        lr=0.1,
        measure_epochs=(0, 5, 10, 15, 20, 25),
        batch_size=2048,
        k=20,
    ),
    RunSpec(
        "resnet50_imagenet",
        "resnet50_imagenet",
        "imagenet",
        train_samples=2048,
        init_weights="resnet50-0676ba61.pth",
        epochs=0,
        batch_size=2048,
        k=20,
    ),
    RunSpec(
        "vit_tiny_cifar10",
        "vit_tiny",
        "cifar10",
        epochs=30,
        train_batch_size=128,
        lr=1e-3,
        optimizer="adamw",
        weight_decay=0.05,
        batch_size=2048,
        k=20,
    ),
    RunSpec(
        "vit_tiny_cifar100",
        "vit_tiny",
        "cifar100",
        epochs=30,
        train_batch_size=128,
        lr=1e-3,
        optimizer="adamw",
        weight_decay=0.05,
        batch_size=2048,
        k=20,
    ),
    RunSpec(
        "gpt2_6l_text",
        "gpt2_6l",
        "text",
        {},
        {"context": 256},
        epochs=5,
        train_batch_size=32,
        lr=3e-4,
        optimizer="adamw",
        weight_decay=0.01,
        batch_size=2048,
        k=20,
    ),
    RunSpec(
        "gpt2_6l_text_cls",
        "gpt2_6l",
        "text-cls",
        {"task": "classification"},
        {"context": 256},
        epochs=5,
        train_batch_size=32,
        lr=3e-4,
        optimizer="adamw",
        weight_decay=0.01,
        batch_size=2048,
        k=20,
    ),
]

PRESETS: dict[str, list[RunSpec]] = {"cpu": CPU_PRESET, "paper": PAPER_PRESET}


# ------------------------------------------------------------------------------------------------ running


class PresetError(ValueError):
    """A preset cannot run as asked (missing dataset/weights); one line."""


def default_cache_dir() -> Path:
    env = os.environ.get("SAD_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sad-verify"


def _load_data(
    spec: RunSpec, split: str, synthetic_fallback: bool, n_samples: int | None, data_root_dir: str | None
) -> Dataset:
    kw = dict(spec.data_kwargs)
    try:
        return load_dataset(spec.dataset, split=split, root=data_root_dir, n_samples=n_samples, seed=spec.seed, **kw)
    except DatasetNotFound as exc:
        if not synthetic_fallback or spec.dataset not in SYNTHETIC_STANDIN:
            raise
        standin = SYNTHETIC_STANDIN[spec.dataset]
        n_classes = (
            kw.pop("n_classes", None)
            or {"cifar10": 10, "cifar100": 100, "tiny-imagenet": 200, "imagenet": 1000}[spec.dataset]
        )
        ds = load_dataset(standin, split=split, n_classes=n_classes, n_samples=n_samples, seed=spec.seed, **kw)
        ds.meta["substitutes"] = spec.dataset
        ds.meta["fallback_reason"] = str(exc)
        return ds


def _dtype_device(device: str | None) -> tuple[torch.dtype, torch.device]:
    dev = torch.device(device or "cpu")
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return torch.float32, dev
    return torch.float64, dev


def _checkpoints(
    spec: RunSpec,
    train_ds: Dataset,
    test_ds: Dataset,
    cache: Path,
    root: str | None,
    progress: bool,
    fallback: bool,
    device: torch.device,
) -> dict[int, Path]:
    """Train ``spec`` once (cached) and return {epoch: checkpoint path} for the measured epochs."""
    folder = cache / f"{spec.name}-{spec.train_key()}"
    wanted = spec.epochs_to_measure()
    paths = {e: folder / f"epoch_{e}.pt" for e in wanted}
    if all(p.exists() for p in paths.values()) and (folder / "train_metrics.json").exists():
        return paths
    model = build_model(spec.model, **_build_args(train_ds, spec.seed, dict(spec.model_kwargs)))
    init_note = None
    if spec.init_weights is not None:
        wpath = data_root(root) / spec.init_weights
        if wpath.exists():
            model.load_state_dict(torch.load(wpath, map_location="cpu", weights_only=True))
        elif not fallback:
            raise DatasetNotFound(
                f"{spec.name}: weights {wpath} not found; put the state_dict file there (data root: --data-root)"
            )
        init_note = str(wpath) if wpath.exists() else f"missing {wpath}: random init (--synthetic-fallback)"
    model = model.to(device)  # trained in float32 on the run's device
    res = train(
        model,
        train_ds,
        epochs=spec.epochs,
        batch_size=spec.train_batch_size,
        lr=spec.lr,
        seed=spec.seed,
        optimizer=spec.optimizer,
        weight_decay=spec.weight_decay,
        checkpoint_dir=folder,
        checkpoint_epochs=wanted,
        target_accuracy=spec.target_accuracy,
        test_dataset=test_ds,
        progress=progress,
    )
    missing = [e for e in wanted if e not in res.checkpoints]
    if missing:  # stopped early by the accuracy target before a checkpoint epoch
        raise PresetError(
            f"{spec.name}: training stopped at epoch {res.epochs_run} ({res.stopped_by}); no checkpoint for epochs {missing}"
        )
    history = {
        "epochs_run": res.epochs_run,
        "stopped_by": res.stopped_by,
        "seconds": res.seconds,
        "history": res.history,
        "init_weights": init_note,
    }
    (folder / "train_metrics.json").write_text(json.dumps(history, indent=1))
    return paths


def run_spec(
    spec: RunSpec,
    out_dir: str | Path,
    *,
    device: str | None = None,
    progress: bool = True,
    synthetic_fallback: bool = False,
    cache_dir: str | Path | None = None,
    data_root_dir: str | None = None,
    preset: str = "custom",
) -> list[Path]:
    """Train (cached), then measure every checkpoint of ``spec`` not yet complete in ``out_dir``; returns the files."""
    from empirics import results_io
    from empirics.measurement.runner import measure_layers
    from empirics.quantities import MeasureSettings

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {e: out / spec.out_name(e) for e in spec.epochs_to_measure()}
    todo = {e: p for e, p in files.items() if not _is_complete(p, spec)}
    if not todo:
        return list(files.values())
    dtype, dev = _dtype_device(device)
    t_start = time.perf_counter()
    train_ds = _load_data(spec, "train", synthetic_fallback, spec.train_samples, data_root_dir)
    test_ds = _load_data(spec, "test", synthetic_fallback, None, data_root_dir)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir() / preset
    ckpts = _checkpoints(spec, train_ds, test_ds, cache, data_root_dir, progress, synthetic_fallback, dev)
    t_train = time.perf_counter() - t_start
    train_log = json.loads((ckpts[spec.epochs_to_measure()[0]].parent / "train_metrics.json").read_text())
    loss_fn = loss_for(train_ds)
    g = torch.Generator().manual_seed(spec.seed)
    idx = torch.randperm(len(train_ds), generator=g)[: spec.batch_size]
    batch = train_ds.subset(idx)
    x = batch.inputs.to(dev, dtype) if batch.inputs.is_floating_point() else batch.inputs.to(dev)
    y = batch.targets.to(dev)
    for epoch, path in todo.items():
        t0 = time.perf_counter()
        ckpt = torch.load(ckpts[epoch], map_location="cpu", weights_only=True)
        model = build_model(ckpt["model_name"], **ckpt["build_kwargs"])
        model.load_state_dict(ckpt["model"])
        model = model.to(dev, dtype).eval()
        types = {n: t for n, t in layer_table(model).items() if spec.layer_types is None or t in spec.layer_types}
        if spec.trajectory_layers is not None and epoch != max(spec.epochs_to_measure()):
            unknown = sorted(set(spec.trajectory_layers) - set(types))
            if unknown:
                raise ValueError(
                    f"{spec.name}: unknown trajectory layer(s) {', '.join(unknown)}; choose from {', '.join(types)}"
                )
            types = {n: t for n, t in types.items() if n in spec.trajectory_layers}
        run = _run_record(spec, train_ds, batch, epoch, ckpt["metrics"], ckpt["build_kwargs"], dtype, dev)
        settings = _settings(spec, preset, train_ds, batch, train_log, types)
        previous = results_io.load_for_resume(path, run)
        done = list(previous["layers"]) if previous else []
        doc = {
            "schema": "sad-results/1",
            "complete": False,
            "run": run,
            "provenance": results_io.provenance(
                settings, seed=spec.seed, device=str(dev), dtype=str(dtype).replace("torch.", "")
            ),
            "layers": done,
        }

        def on_layer(record, doc=doc, path=path):
            doc["layers"].append(record)
            results_io.write_atomic(path, doc)

        skip = frozenset(layer["name"] for layer in done)
        measure_layers(
            model,
            loss_fn,
            x,
            y,
            types,
            MeasureSettings(k=spec.k, gn=spec.gn, kron=spec.kron, clamp_k=spec.clamp_k, method=spec.method),
            progress=progress,
            skip=skip,
            on_layer=on_layer,
        )
        order = list(types)
        doc["layers"] = sorted(
            doc["layers"], key=lambda r: order.index(r["name"]) if r["name"] in order else len(order)
        )
        doc["complete"] = True
        doc["provenance"]["settings"]["seconds"] = {
            "train_and_data": round(t_train, 2),
            "measure": round(time.perf_counter() - t0, 2),
        }
        results_io.write_atomic(path, doc)
    return list(files.values())


def _is_complete(path: Path, spec: RunSpec) -> bool:
    """Whether ``path`` is a finished results file of ``spec``; a file made with other settings is an error."""
    if not path.exists():
        return False
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return False  # results_io.load_for_resume reports it (one line)
    stored = doc.get("provenance", {}).get("settings", {}).get("spec") if isinstance(doc, dict) else None
    wanted = json.loads(json.dumps(dataclasses.asdict(spec), default=str))
    if stored != wanted:
        diff = sorted(k for k in wanted if not isinstance(stored, dict) or stored.get(k) != wanted[k])
        raise PresetError(
            f"{path}: exists with different run settings ({', '.join(diff)}); delete it or use another --out"
        )
    return bool(doc.get("complete"))


def _run_record(spec, train_ds, batch, epoch, metrics, build_kwargs, dtype, dev) -> dict[str, Any]:
    return {
        "model": spec.model,
        "architecture": ARCHITECTURES[spec.model],
        "dataset": spec.dataset if train_ds.kind == "real" else train_ds.name,
        "dataset_kind": train_ds.kind,
        "n_classes": train_ds.n_classes,
        "task": train_ds.task,
        "batch_size": int(batch.inputs.shape[0]),
        "k": spec.k,
        "epoch": epoch,
        "train_metrics": {k: v for k, v in metrics.items() if k != "epoch"},
        "dtype": str(dtype).replace("torch.", ""),
        "device": dev.type,
        "seed": spec.seed,
        "loss": "cross_entropy" if train_ds.task == "classification" else "next_byte_cross_entropy_mean_over_tokens",
        "run_name": spec.name,
        "build_kwargs": {k: v for k, v in build_kwargs.items() if k != "seed"},
    }


def _settings(spec, preset, train_ds, batch, train_log, types) -> dict[str, Any]:
    return {
        "preset": preset,
        "spec": dataclasses.asdict(spec),
        "bn_mode": "eval",
        "bias_measured": False,
        "k_rule": "k = min(k, numerical rank of G) per layer" if spec.clamp_k else "k as requested",
        "measurement_batch": "first B samples of a seeded permutation of the train split",
        "dataset_meta": train_ds.meta,
        "layers_selected": types,
        "training": {k: v for k, v in train_log.items() if k != "history"} | {"final": train_log["history"][-1]},
        "torch_threads": torch.get_num_threads(),
    }


def run_preset(
    name: str,
    out_dir: str | Path,
    *,
    device: str | None = None,
    progress: bool = True,
    synthetic_fallback: bool = False,
    cache_dir: str | Path | None = None,
    data_root_dir: str | None = None,
    only: list[str] | None = None,
) -> list[Path]:
    """Run every spec of preset ``name`` (or those named in ``only``); returns the results files."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    specs = PRESETS[name]
    if only:
        unknown = sorted(set(only) - {s.name for s in specs})
        if unknown:
            raise ValueError(
                f"unknown run(s) {', '.join(unknown)} in preset {name!r}; choose from {', '.join(s.name for s in specs)}"
            )
        specs = [s for s in specs if s.name in only]
    if not synthetic_fallback:  # fail fast, before any training, naming every missing dataset
        missing: dict[str, str] = {}
        for s in specs:
            try:
                if s.dataset in SYNTHETIC_STANDIN and s.dataset not in missing:
                    load_dataset(s.dataset, split="test", root=data_root_dir, n_samples=1)
            except DatasetNotFound as exc:
                missing[s.dataset] = str(exc)
            if s.init_weights is not None and not (data_root(data_root_dir) / s.init_weights).exists():
                missing[s.init_weights] = f"weights {data_root(data_root_dir) / s.init_weights} not found"
        if missing:
            first = next(iter(missing.values()))
            raise DatasetNotFound(
                f"missing {', '.join(missing)} (or pass --synthetic-fallback to substitute synthetic data); first: {first}"
            )
    files: list[Path] = []
    for spec in specs:
        if progress:
            print(f"[{name}] {spec.name}: {spec.model} on {spec.dataset}", file=sys.stderr)
        files += run_spec(
            spec,
            out_dir,
            device=device,
            progress=progress,
            synthetic_fallback=synthetic_fallback,
            cache_dir=cache_dir,
            data_root_dir=data_root_dir,
            preset=name,
        )
    return files


def register_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``run``: ``python -m empirics run --preset cpu|paper --out results/``."""
    p = subparsers.add_parser("run", help="train and measure a preset sweep (cpu: shipped results; paper: GPU sweep)")
    p.add_argument("--preset", required=True, choices=sorted(PRESETS))
    p.add_argument("--out", default="results")
    p.add_argument("--device", default=None, help="cpu (float64, default) or cuda (float32, TF32 off)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--cache-dir", default=None, help="checkpoint cache (default $SAD_CACHE or ~/.cache/sad-verify)")
    p.add_argument(
        "--synthetic-fallback",
        action="store_true",
        help="substitute the synthetic task of the same shape for a missing dataset",
    )
    p.add_argument("--only", nargs="*", default=None, help="run only these runs of the preset")
    p.add_argument("--list", action="store_true", help="list the preset's runs and exit")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_cli)
    return p


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_cli(args: argparse.Namespace) -> int:
    """Entry point of ``python -m empirics run``: 0 ok, 2 bad input (one line), 3 interrupted (resumable)."""
    if args.list:
        for s in PRESETS[args.preset]:
            print(
                f"{s.name}: {s.model} {s.model_kwargs} on {s.dataset} {s.data_kwargs}; epochs {s.epochs}, "
                f"measured at {list(s.epochs_to_measure())}, B={s.batch_size}, k={s.k}"
            )
        return 0
    if args.device and args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"error: --device {args.device}: CUDA is not available", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        files = run_preset(
            args.preset,
            args.out,
            device=args.device,
            progress=not args.no_progress,
            synthetic_fallback=args.synthetic_fallback,
            cache_dir=args.cache_dir,
            data_root_dir=args.data_root,
            only=args.only,
        )
    except (ValueError, DatasetNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: partial results kept in {args.out}; rerun the same command to resume", file=sys.stderr)
        return 3
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"{len(files)} results file(s) in {args.out} ({time.perf_counter() - t0:.0f} s)")
    return 0
