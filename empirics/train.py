"""Training to a stated criterion, deterministic under a seed, with checkpoints for α over training.

Stopping rule (stated in the result): train for ``epochs`` epochs, or stop earlier at the end of the first
epoch whose ``target_metric`` (``"train_accuracy"`` or ``"test_accuracy"``) reaches ``target_accuracy``.
Determinism: weights, dropout and shuffles draw from ``seed`` only (``torch.manual_seed`` inside a forked RNG,
a seeded ``torch.Generator`` for the epoch permutations) and ``torch.use_deterministic_algorithms(True)`` is on
while training (restored afterwards), so two runs with the same seed give bit-identical weights on one machine.
Checkpoints (epoch 0 = before any update): ``{"model": state_dict, "epoch", "metrics", "model_name",
"build_kwargs"}`` saved as ``<checkpoint_dir>/epoch_<e>.pt``.
Accuracy: argmax over classes (for the language model, over bytes, averaged over all positions).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from empirics.arguments import first_line, fraction, nonnegative_float, nonnegative_int, positive_float, positive_int
from empirics.data import Dataset, DatasetNotFound, load_dataset, loss_for

OPTIMIZERS = ("sgd", "adamw")
TARGET_METRICS = ("train_accuracy", "test_accuracy")


@dataclass
class TrainResult:
    epochs_run: int
    stopped_by: str  # "epochs" | "target_accuracy"
    history: list[dict[str, float]] = field(default_factory=list)  # one entry per epoch (epoch 0 = init)
    checkpoints: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def final(self) -> dict[str, float]:
        return self.history[-1] if self.history else {}


@contextlib.contextmanager
def deterministic(seed: int, device: torch.device | None = None):
    """Seed torch's global RNG (state restored on exit) and ask for deterministic kernels.

    On CUDA, cuBLAS needs ``CUBLAS_WORKSPACE_CONFIG`` (set here if absent) and a few kernels (e.g. the
    backward of adaptive average pooling) have no deterministic version: those warn instead of failing
    (``warn_only``), so GPU runs are reproducible only up to such kernels. On CPU every op used by the zoo is
    deterministic (tested: bit-identical weights).
    """
    cuda = device is not None and device.type == "cuda"
    if cuda:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=None if cuda else []):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=cuda)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(previous, warn_only=previous_warn)


def _correct(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[int, int]:
    pred = outputs.argmax(-1)
    return int((pred == targets).sum()), int(targets.numel())


@torch.no_grad()
def evaluate(model: nn.Module, dataset: Dataset, batch_size: int = 512) -> dict[str, float]:
    """Mean per-sample loss and accuracy of ``model`` in eval mode."""
    was_training = model.training
    model.eval()
    loss_fn = loss_for(dataset)
    dtype, device = _param_dtype_device(model)
    total, correct, count = 0.0, 0, 0
    for start in range(0, len(dataset), batch_size):
        x = _to(dataset.inputs[start : start + batch_size], dtype, device)
        y = dataset.targets[start : start + batch_size].to(device)
        out = model(x)
        total += float(loss_fn(out, y).sum())
        c, n = _correct(out, y)
        correct, count = correct + c, count + n
    model.train(was_training)
    return {"loss": total / max(len(dataset), 1), "accuracy": correct / max(count, 1)}


def _param_dtype_device(model: nn.Module) -> tuple[torch.dtype, torch.device]:
    p = next(model.parameters())
    return p.dtype, p.device


def _to(x: torch.Tensor, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return x.to(device=device, dtype=dtype) if x.is_floating_point() else x.to(device)


def train(
    model: nn.Module,
    dataset: Dataset,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    optimizer: str = "sgd",
    checkpoint_dir: str | Path | None = None,
    checkpoint_epochs: tuple[int, ...] | list[int] = (),
    target_accuracy: float | None = None,
    target_metric: str = "train_accuracy",
    test_dataset: Dataset | None = None,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    progress: bool = True,
) -> TrainResult:
    """Minimise the mean per-sample loss of ``dataset`` with SGD (momentum) or AdamW, constant learning rate."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    if target_metric not in TARGET_METRICS:
        raise ValueError(f"unknown target_metric {target_metric!r}; choose from {', '.join(TARGET_METRICS)}")
    if target_metric == "test_accuracy" and target_accuracy is not None and test_dataset is None:
        raise ValueError("target_metric='test_accuracy' needs a test_dataset")
    if epochs < 0 or batch_size <= 0 or len(dataset) == 0:
        raise ValueError(
            f"need epochs >= 0, batch_size > 0 and a non-empty dataset (got {epochs}, {batch_size}, {len(dataset)})"
        )
    loss_fn = loss_for(dataset)
    dtype, device = _param_dtype_device(model)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    wanted = set(int(e) for e in checkpoint_epochs)
    result = TrainResult(epochs_run=0, stopped_by="epochs")
    t0 = time.perf_counter()

    def record(epoch: int, train_metrics: dict[str, float]) -> dict[str, float]:
        m = {"epoch": epoch, "train_loss": train_metrics["loss"], "train_accuracy": train_metrics["accuracy"]}
        if test_dataset is not None:
            tm = evaluate(model, test_dataset)
            m.update(test_loss=tm["loss"], test_accuracy=tm["accuracy"])
        result.history.append(m)
        if ckpt_dir is not None and epoch in wanted:
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            path = ckpt_dir / f"epoch_{epoch}.pt"
            save_atomic(
                {
                    "model": model.state_dict(),
                    "epoch": epoch,
                    "metrics": m,
                    "model_name": getattr(model, "sad_model_name", type(model).__name__),
                    "build_kwargs": getattr(model, "sad_build_kwargs", {}),
                },
                path,
            )
            result.checkpoints[epoch] = str(path)
        return m

    with deterministic(seed, device):
        if optimizer == "sgd":
            opt: torch.optim.Optimizer = torch.optim.SGD(
                model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
            )
        else:
            opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        g = torch.Generator().manual_seed(seed)
        record(0, evaluate(model, dataset))
        bar = _progress(epochs, progress)
        for epoch in range(1, epochs + 1):
            model.train()
            perm = torch.randperm(len(dataset), generator=g)
            total, correct, count = 0.0, 0, 0
            for start in range(0, len(dataset), batch_size):
                idx = perm[start : start + batch_size]
                x = _to(dataset.inputs[idx], dtype, device)
                y = dataset.targets[idx].to(device)
                out = model(x)
                losses = loss_fn(out, y)
                opt.zero_grad(set_to_none=True)
                losses.mean().backward()
                opt.step()
                total += float(losses.detach().sum())
                c, n = _correct(out.detach(), y)
                correct, count = correct + c, count + n
            m = record(epoch, {"loss": total / len(dataset), "accuracy": correct / count})
            result.epochs_run = epoch
            bar.update(m)
            if target_accuracy is not None and m[target_metric] >= target_accuracy:
                result.stopped_by = "target_accuracy"
                break
        bar.close()
    model.eval()
    result.seconds = time.perf_counter() - t0
    return result


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temp file beside ``path``, fsync, then ``os.replace``: a killed run never leaves a
    truncated checkpoint under the final name."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class _progress:
    """A tqdm bar over epochs showing the latest metrics (silent when disabled)."""

    def __init__(self, total: int, enabled: bool):
        self.bar = None
        if enabled and total > 0:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="train", unit="epoch", file=sys.stderr, leave=False)

    def update(self, m: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in m.items() if k != "epoch"})
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model stored in a checkpoint written by :func:`train` (returns model, checkpoint dict)."""
    from empirics.zoo import build_model

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    kwargs = dict(ckpt["build_kwargs"])
    model = build_model(ckpt["model_name"], **kwargs)
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt


# ---------------------------------------------------------------- CLI: python -m empirics train ...


def register_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``train``: ``python -m empirics train --model M --dataset D --epochs E --batch-size B --lr LR ...``."""
    p = subparsers.add_parser("train", help="train a zoo model on a dataset, with checkpoints")
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--data-root", default=None)
    p.add_argument("--n-classes", type=positive_int, default=None)
    p.add_argument("--image-size", type=positive_int, default=None)
    p.add_argument("--context", type=positive_int, default=None, help="sequence length for text datasets")
    p.add_argument("--n-samples", type=positive_int, default=None, help="seeded subset of the train split")
    p.add_argument("--width", type=positive_int, default=None, help="size knob (conv width / ViT width)")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE", help="other build kwargs")
    p.add_argument("--epochs", type=nonnegative_int, required=True)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--lr", type=positive_float, default=0.05)
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd")
    p.add_argument("--weight-decay", type=nonnegative_float, default=5e-4)
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--target-accuracy", type=fraction, default=None)
    p.add_argument("--target-metric", choices=TARGET_METRICS, default="train_accuracy")
    p.add_argument("--checkpoint-dir", required=True)
    p.add_argument(
        "--checkpoint-epochs", type=nonnegative_int, nargs="*", default=None, help="default: 0 and the last epoch"
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Entry point of ``python -m empirics train``: 0 ok; 2 bad input (one line, before any training: bad
    values, a model that does not take the dataset's inputs, a checkpoint folder that cannot be written or
    that another run is writing); 3 interrupted (Ctrl-C/SIGTERM: the checkpoints written so far are kept)."""
    from empirics.output import Interrupts, OutputError, OutputLock
    from empirics.output.target import check_output_folder, remove_orphan_temps, write_text_atomic

    with Interrupts() as stop:
        try:
            folder = check_output_folder(args.checkpoint_dir, "--checkpoint-dir")
            with OutputLock(folder):
                epochs_ck = args.checkpoint_epochs if args.checkpoint_epochs is not None else [0, args.epochs]
                for name in [f"epoch_{e}.pt" for e in epochs_ck] + ["train_metrics.json"]:
                    remove_orphan_temps(folder / name)  # left by a killed run (we hold the folder's lock)
                res = _train_from_args(args, folder)
                summary = {
                    "epochs_run": res.epochs_run,
                    "stopped_by": res.stopped_by,
                    "final": res.final,
                    "checkpoints": res.checkpoints,
                }
                with stop.deferred():
                    text = json.dumps({**summary, "history": res.history}, indent=1)
                    write_text_atomic(folder / "train_metrics.json", text)
        except (ValueError, DatasetNotFound, OutputError) as exc:
            print(f"error: {first_line(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted: checkpoints written so far are kept", file=sys.stderr)
            return 3
    print(json.dumps(summary))
    return 0


def _train_from_args(args: argparse.Namespace, folder: Path) -> TrainResult:
    from empirics.model_args import build_kwargs_for, check_model_fits, parse_model_args, size_kwargs
    from empirics.zoo import MODEL_NAMES, build_model

    if args.model not in MODEL_NAMES:
        raise ValueError(f"--model: unknown model {args.model!r}; choose from {', '.join(MODEL_NAMES)}")
    epochs_ck = args.checkpoint_epochs if args.checkpoint_epochs is not None else [0, args.epochs]
    late = sorted(e for e in epochs_ck if e > args.epochs)
    if late:
        raise ValueError(f"--checkpoint-epochs {late[0]}: after the last epoch (--epochs {args.epochs})")
    model_kwargs = {**parse_model_args(args.model_arg), **size_kwargs(args.model, args.width)}
    data_kw = {"root": args.data_root, "n_classes": args.n_classes, "image_size": args.image_size}
    data_kw["context"] = args.context
    train_ds = load_dataset(args.dataset, split="train", n_samples=args.n_samples, seed=args.seed, **data_kw)
    test_ds = load_dataset(args.dataset, split="test", seed=args.seed, **data_kw)
    try:
        model = build_model(args.model, **build_kwargs_for(train_ds, seed=args.seed, model_kwargs=model_kwargs))
    except (TypeError, RuntimeError) as exc:
        raise ValueError(f"--model {args.model}: cannot build it ({type(exc).__name__}: {exc})") from None
    what = f"--model {args.model} on --dataset {args.dataset}"
    x = _to(train_ds.inputs[:2], *_param_dtype_device(model))
    check_model_fits(model, x, train_ds.targets[:2], loss_for(train_ds), what=what)
    return train(
        model,
        train_ds,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        checkpoint_dir=folder,
        checkpoint_epochs=epochs_ck,
        target_accuracy=args.target_accuracy,
        target_metric=args.target_metric,
        test_dataset=test_ds,
        progress=not args.no_progress,
    )
