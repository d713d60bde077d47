"""Run a comparison: measure s = αγ per layer, search the learning rate per config, train every
(config, seed) cell, and write the ``sad-optim/1`` file atomically after each finished trial or cell.

Per cell: the model is built from the cell's seed (same seed → same initial weights for every config),
minibatches are a seeded permutation per epoch, the learning rate follows the spec's schedule per step
(cosine from ``lr`` to 0 over all steps, no warm-up; or constant), and the test accuracy is evaluated
after every epoch. Each cell runs inside :func:`empirics.train.deterministic` (seeded, deterministic
kernels). Timings: :func:`time.perf_counter` around each step (CUDA synchronised before reading the clock).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import torch

from empirics import results_io
from empirics.compare.s_measure import measure_s
from empirics.compare.setup import CompareError, build, load_data, split_validation
from empirics.compare.spec import CompareSpec
from empirics.compare_schema import (
    CONFIG_NAMES,
    OPTIMIZER_OF,
    SCALAR_CONFIGS,
    SCHEMA_VERSION,
    STD_DDOF,
    summarize_runs,
    validate,
)
from empirics.data import Dataset, loss_for
from empirics.output import RunWriter
from empirics.train import deterministic, evaluate

__all__ = [
    "run_compare",
    "measure_s",
    "train_cell",
    "CompareError",
    "optim_api",
    "identity",
    "load_data",
    "split_validation",
]


def optim_api() -> tuple[Callable[..., torch.optim.Optimizer], tuple[str, ...]]:
    """``(build_optimizer, OPTIMIZER_NAMES)`` of :mod:`empirics.optim` (a seam: tests substitute it)."""
    from empirics.optim import OPTIMIZER_NAMES, build_optimizer

    return build_optimizer, tuple(OPTIMIZER_NAMES)


# -- files ---------------------------------------------------------------------------------------
def _settings(spec: CompareSpec, device: torch.device) -> dict:
    return json.loads(json.dumps({"spec": dataclasses.asdict(spec), "device": device.type}, default=str))


def identity(doc: dict) -> dict:
    """What a stored comparison must share with this one to be resumed: its spec and device."""
    return {"compare": doc["provenance"].get("settings", {}).get("compare")}


# -- one training cell ---------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median(xs: list[float]) -> float:
    a = sorted(xs)
    n = len(a)
    return float("nan") if not n else a[n // 2] if n % 2 else 0.5 * (a[n // 2 - 1] + a[n // 2])


def train_cell(
    spec: CompareSpec,
    cfg: str,
    lr: float,
    seed: int,
    train: Dataset,
    evalset: Dataset,
    *,
    epochs: int,
    device: torch.device,
    s_values: dict[str, float] | None,
    build_optimizer: Callable[..., torch.optim.Optimizer],
) -> dict:
    """Train config ``cfg`` at ``lr`` from the initial weights of ``seed``; accuracy (%) on ``evalset`` per epoch."""
    model = build(spec, train, seed, device)
    dtype = getattr(torch, spec.dtype)
    loss_fn = loss_for(train)
    steps_per_epoch = math.ceil(len(train) / spec.batch_size)
    total = epochs * steps_per_epoch
    accs: list[float] = []
    step_t: list[float] = []
    opt_t: list[float] = []
    epoch_t: list[float] = []
    diverged: int | None = None
    with deterministic(seed, device):
        kw: dict[str, Any] = {"lr": lr, "weight_decay": spec.weight_decay, "seed": seed, "damping": spec.damping}
        if cfg in SCALAR_CONFIGS:
            kw["s_by_layer"] = dict(s_values or {})
        opt = build_optimizer(OPTIMIZER_OF[cfg], model, **kw)
        if spec.schedule == "cosine":
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, total) / total))
            )
        else:
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0)
        g = torch.Generator().manual_seed(seed)
        for epoch in range(1, epochs + 1):
            model.train()
            perm = torch.randperm(len(train), generator=g)
            t_epoch = time.perf_counter()
            for start in range(0, len(train), spec.batch_size):
                idx = perm[start : start + spec.batch_size]
                x = train.inputs[idx].to(device=device, dtype=dtype)
                y = train.targets[idx].to(device)
                _sync(device)
                t0 = time.perf_counter()
                loss = loss_fn(model(x), y).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                _sync(device)
                t1 = time.perf_counter()
                if not torch.isfinite(loss):
                    diverged = epoch
                    break
                try:
                    opt.step()
                except FloatingPointError:  # empirics.optim refuses non-finite gradients
                    diverged = epoch
                    break
                _sync(device)
                t2 = time.perf_counter()
                sched.step()
                step_t.append(t2 - t0)
                opt_t.append(t2 - t1)
            epoch_t.append(time.perf_counter() - t_epoch)
            accs.append(100.0 * evaluate(model, evalset)["accuracy"])
            if diverged is not None:
                accs += [accs[-1]] * (epochs - epoch)  # a diverged run keeps its last accuracy
                break
    return {
        "config": cfg,
        "optimizer": OPTIMIZER_OF[cfg],
        "seed": int(seed),
        "lr": float(lr),
        "test_accuracy": accs,
        "best": max(accs),
        "final": accs[-1],
        "diverged_at_epoch": diverged,
        "sec_per_step": _median(step_t),
        "sec_per_opt_step": _median(opt_t),
        "sec_per_epoch": _median(epoch_t),
        "n_steps": len(step_t),
    }


# -- the whole comparison --------------------------------------------------------------------------
def _log(progress: bool, msg: str) -> None:
    if progress:
        print(msg, file=sys.stderr, flush=True)


def run_compare(
    spec: CompareSpec,
    out: str | Path,
    *,
    device: str | None = None,
    data_root: str | None = None,
    progress: bool = True,
    api: tuple[Callable[..., torch.optim.Optimizer], tuple[str, ...]] | None = None,
    defer: Callable[[], AbstractContextManager[Any]] | None = None,
) -> Path:
    """Run (or resume) ``spec``; returns the results file. Unknown configs, an unusable output or a missing
    dataset raise first, before any training. Written through :class:`empirics.output.RunWriter` (locked,
    re-checked before each write); ``defer``: the interrupt handler's write guard."""
    unknown = [c for c in spec.configs if c not in CONFIG_NAMES]
    if unknown:
        raise CompareError(f"unknown optimizer config(s) {', '.join(unknown)}; choose from {', '.join(CONFIG_NAMES)}")
    if len(spec.seeds) < 1:
        raise CompareError("need at least one seed")
    build_optimizer, names = api or optim_api()
    missing = sorted({OPTIMIZER_OF[c] for c in spec.configs} - set(names))
    if missing:
        raise CompareError(f"empirics.optim has no optimizer {', '.join(missing)}; it has {', '.join(names)}")
    dev = torch.device(device or "cpu")
    path = Path(out)
    if path.suffix != ".json":
        path = path / f"{spec.name}.json"
    settings = _settings(spec, dev)
    with RunWriter(path, validator=validate, identity=identity, defer=defer) as writer:
        previous = writer.load({"compare": settings})
        if previous is not None and previous.get("complete"):
            _log(progress, f"[compare] {writer.path}: already complete; nothing to run")
            return writer.path
        train, test = load_data(spec, data_root)
        t_start = time.perf_counter()
        prov = results_io.provenance(
            {"compare": settings, "torch_threads": torch.get_num_threads()},
            seed=spec.search_seed,
            device=str(dev),
            dtype=spec.dtype,
        )
        if previous is not None:
            doc = previous
            done_seconds = float(previous["provenance"].get("seconds") or 0.0)
            doc["provenance"] = results_io.resumed_provenance(prov, previous["provenance"])
            _log(progress, f"[compare] resuming {writer.path}: {len(doc.get('runs', []))} cell(s) done")
        else:
            doc, done_seconds = _new_document(spec, train, test, dev, prov), 0.0
        stamp = results_io.part_stamp(prov)
        _run_cells(spec, doc, train, test, dev, build_optimizer, lambda: writer.write(doc), stamp, progress)
        doc["summary"] = summarize_runs(doc["runs"])
        doc["provenance"]["seconds"] = round(done_seconds + time.perf_counter() - t_start, 2)
        writer.write(doc, final=True)
        return writer.path


def _new_document(spec: CompareSpec, train: Dataset, test: Dataset, dev: torch.device, prov: dict) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "complete": False,
        "experiment": spec.name,
        "model": spec.model,
        "architecture": _architecture(spec.model),
        "model_kwargs": dict(spec.model_kwargs),
        "dataset": spec.dataset,
        "dataset_kind": train.kind,
        "n_classes": train.n_classes,
        "n_train": len(train),
        "n_test": len(test),
        "n_epochs": spec.epochs,
        "batch_size": spec.batch_size,
        "schedule": _schedule(spec),
        "weight_decay": spec.weight_decay,
        "damping": spec.damping,
        "optimizers": {
            "source": "empirics.optim.build_optimizer(name, model, lr=, weight_decay=, seed=, damping=, s_by_layer=)",
            "names": {c: OPTIMIZER_OF[c] for c in spec.configs},
            "defaults": "everything else at empirics.optim's defaults (sn: alpha per layer type, scale none, "
            "momentum 0.95 Nesterov; muon: Newton-Schulz 5 steps; scalar configs: geometric-mean s-bar)",
        },
        "device": dev.type,
        "dtype": spec.dtype,
        "seed_list": list(spec.seeds),
        "std_ddof": STD_DDOF,
        "accuracy_unit": "percent",
        "best_accuracy": "max over epochs of the test accuracy (as App. M); final = last epoch",
        "lr_search": {
            "grid": {c: spec.lr_grid(c) for c in spec.configs},
            "factors": list(spec.lr_factors),
            "epochs": spec.search_epochs,
            "seed": spec.search_seed,
            "val_fraction": spec.val_fraction,
            "trials_per_config": len(spec.lr_factors),
            "rule": "train on the train split minus a held-out validation part (seeded), same schedule over "
            "search epochs; pick the lr with the highest best-over-epochs validation accuracy (ties: smaller lr)",
            "val_accuracy": {},
            "chosen": {},
        },
        "s_by_layer": {},
        "s_measurement": {},
        "runs": [],
        "summary": {},
        "provenance": prov,
    }


def _run_cells(spec, doc, train, test, dev, build_optimizer, save, stamp, progress) -> None:
    """s = αγ (if a scalar config needs it), the learning-rate search, then every (config, seed) cell not yet
    in ``doc``; ``save()`` after each finished measurement, trial and cell."""
    if not doc["s_by_layer"] and any(c in SCALAR_CONFIGS for c in spec.configs):
        _log(progress, f"[compare] measuring s = αγ per layer of {spec.model} (k = {spec.s_k})")
        doc["s_by_layer"], doc["s_measurement"] = measure_s(spec, train, dev)
        doc["s_measurement"]["measured_with"] = stamp
        save()
    s_values = {k: float(v["s"]) for k, v in doc["s_by_layer"].items()}
    fit, val = split_validation(train, spec.val_fraction, spec.search_seed)
    search = doc["lr_search"]
    cell = dict(device=dev, s_values=s_values, build_optimizer=build_optimizer)
    for cfg in spec.configs:
        if cfg in search["chosen"]:
            continue
        accs = search["val_accuracy"].setdefault(cfg, [])
        for lr in spec.lr_grid(cfg)[len(accs) :]:
            r = train_cell(spec, cfg, lr, spec.search_seed, fit, val, epochs=spec.search_epochs, **cell)
            accs.append(r["best"])
            _log(progress, f"[compare] search {cfg} lr={lr:.3g}: val acc {r['best']:.2f} %")
            save()
        search["chosen"][cfg] = spec.lr_grid(cfg)[max(range(len(accs)), key=lambda i: (accs[i], -i))]
        save()
    done = {(r["config"], r["seed"]) for r in doc["runs"]}
    for cfg in spec.configs:
        lr = search["chosen"][cfg]
        for seed in spec.seeds:
            if (cfg, seed) in done:
                continue
            r = train_cell(spec, cfg, lr, seed, train, test, epochs=spec.epochs, **cell)
            r["measured_with"] = stamp
            doc["runs"].append(r)
            doc["summary"] = summarize_runs(doc["runs"])
            save()
            _log(
                progress,
                f"[compare] {cfg} seed {seed} lr={lr:.3g}: best {r['best']:.2f} % final {r['final']:.2f} % "
                f"({r['sec_per_step'] * 1e3:.2f} ms/step, {r['sec_per_epoch']:.2f} s/epoch)",
            )


def _architecture(model: str) -> str:
    from empirics.zoo import ARCHITECTURES

    return ARCHITECTURES.get(model, model.split("_")[0])


def _schedule(spec: CompareSpec) -> dict:
    if spec.schedule == "cosine":
        return {
            "name": "cosine",
            "per": "step",
            "warmup": 0,
            "final_lr": 0.0,
            "rule": "lr_t = lr · ½(1 + cos(π t / T)), T = epochs × steps per epoch",
        }
    return {"name": "constant", "rule": "lr_t = lr"}
