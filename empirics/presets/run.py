"""Running a preset: train each :class:`~empirics.presets.spec.RunSpec` once (cached), measure its checkpoints
with the engine, and write one ``sad-results/1`` file per measured checkpoint through the one run writer
(:class:`empirics.output.RunWriter`).

Files: ``<name>.json``, or ``<name>_e<epoch>.json`` when a run measures several epochs (α over training,
App. E). All files of a run are locked before its training starts (a second run on the same folder exits 2
naming the holder). A complete file is skipped; a partial one is resumed layer by layer; a file made with other
settings (spec, dtype, device, or the run record of the checkpoint) is refused with one line. Checkpoints are
cached (``cache_dir``, default ``$SAD_CACHE`` or ``~/.cache/sad-verify``) under a hash of the training
settings, written atomically, and the cache folder is locked while a run trains into it. The measurement batch
is the first B samples of a seeded permutation of the train split (the same batch at every checkpoint).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import torch

from empirics import results_io
from empirics.data import SYNTHETIC_STANDIN, Dataset, DatasetNotFound, data_root, load_dataset, loss_for
from empirics.kron.likelihood import KEYED_LABELS
from empirics.model_args import build_kwargs_for, nonfinite_entries
from empirics.output import OutputLock, RunWriter
from empirics.output.target import remove_orphan_temps, write_text_atomic
from empirics.output.writer import merge_records
from empirics.presets.spec import RunSpec
from empirics.presets.tables import PRESETS
from empirics.schema import validate
from empirics.train import train
from empirics.zoo import ARCHITECTURES, build_model, layer_table

__all__ = ["PresetError", "default_cache_dir", "load_data", "run_spec", "run_preset", "identity"]

Defer = Callable[[], AbstractContextManager[Any]]


class PresetError(ValueError):
    """A preset cannot run as asked (missing dataset/weights, diverged training); one line."""


def default_cache_dir() -> Path:
    env = os.environ.get("SAD_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sad-verify"


def load_data(
    spec: RunSpec, split: str, synthetic_fallback: bool, n_samples: int | None, data_root_dir: str | None
) -> Dataset:
    """``spec``'s dataset split; with ``synthetic_fallback``, the synthetic task of the same shape if missing."""
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
    """Train ``spec`` once (cached, the cache folder locked meanwhile); {epoch: checkpoint path}."""
    folder = cache / f"{spec.name}-{spec.train_key()}"
    wanted = spec.epochs_to_measure()
    paths = {e: folder / f"epoch_{e}.pt" for e in wanted}
    folder.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(folder):
        for p in [*paths.values(), folder / "train_metrics.json"]:
            remove_orphan_temps(p)  # left by a killed run (this run holds the folder's lock)
        if all(p.exists() for p in paths.values()) and (folder / "train_metrics.json").exists():
            return paths
        model = build_model(spec.model, **build_kwargs_for(train_ds, seed=spec.seed, model_kwargs=spec.model_kwargs))
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
                f"{spec.name}: training stopped at epoch {res.epochs_run} ({res.stopped_by}); "
                f"no checkpoint for epochs {missing}"
            )
        history = {
            "epochs_run": res.epochs_run,
            "stopped_by": res.stopped_by,
            "seconds": res.seconds,
            "history": res.history,
            "init_weights": init_note,
        }
        write_text_atomic(folder / "train_metrics.json", json.dumps(history, indent=1))
    return paths


def identity(doc: dict) -> dict:
    """What a stored preset file must share with this run to be resumed: the spec, dtype, device, run record."""
    run = doc["run"]
    spec = doc["provenance"].get("settings", {}).get("spec")
    return {"spec": spec, "dtype": run.get("dtype"), "device": run.get("device"), "run": run}


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
    defer: Defer | None = None,
) -> list[Path]:
    """Train (cached), then measure every checkpoint of ``spec`` not yet complete in ``out_dir``; returns the
    files. ``defer``: the interrupt handler's write guard (:meth:`empirics.output.Interrupts.deferred`)."""
    out = Path(out_dir)
    dtype, dev = _dtype_device(device)
    want = {
        "spec": json.loads(json.dumps(dataclasses.asdict(spec), default=str)),
        "dtype": str(dtype).replace("torch.", ""),
        "device": dev.type,
    }
    writers = {}
    try:
        for e in spec.epochs_to_measure():
            writers[e] = RunWriter(out / spec.out_name(e), validator=validate, identity=identity, defer=defer)
            writers[e].start()
        todo = [e for e, w in writers.items() if not (w.load(want) or {}).get("complete")]
        if todo:
            _measure_spec(spec, todo, writers, want, dtype, dev, progress, synthetic_fallback, cache_dir,
                          data_root_dir, preset)  # fmt: skip
        return [w.path for w in writers.values()]
    finally:
        for w in writers.values():
            w.close()


def _measure_spec(spec, todo, writers, want, dtype, dev, progress, fallback, cache_dir, root, preset) -> None:
    from empirics.measurement.runner import measure_layers
    from empirics.quantities import MeasureSettings

    t_start = time.perf_counter()
    train_ds = load_data(spec, "train", fallback, spec.train_samples, root)
    test_ds = load_data(spec, "test", fallback, None, root)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir() / preset
    ckpts = _checkpoints(spec, train_ds, test_ds, cache, root, progress, fallback, dev)
    t_train = time.perf_counter() - t_start
    train_log = json.loads((ckpts[spec.epochs_to_measure()[0]].parent / "train_metrics.json").read_text())
    loss_fn = loss_for(train_ds)
    g = torch.Generator().manual_seed(spec.seed)
    idx = torch.randperm(len(train_ds), generator=g)[: spec.batch_size]
    batch = train_ds.subset(idx)
    x = batch.inputs.to(dev, dtype) if batch.inputs.is_floating_point() else batch.inputs.to(dev)
    y = batch.targets.to(dev)
    for epoch in todo:
        t0 = time.perf_counter()
        ckpt = torch.load(ckpts[epoch], map_location="cpu", weights_only=True)
        bad = nonfinite_entries(ckpt["model"])
        if bad:
            raise PresetError(f"{spec.name}: the epoch-{epoch} checkpoint has non-finite weights (first {bad[0][0]!r})")
        model = build_model(ckpt["model_name"], **ckpt["build_kwargs"])
        model.load_state_dict(ckpt["model"])
        model = model.to(dev, dtype).eval()
        types = _layer_types(spec, model, epoch)
        run = _run_record(spec, train_ds, batch, epoch, ckpt["metrics"], ckpt["build_kwargs"], dtype, dev)
        writer = writers[epoch]
        previous = writer.load({**want, "run": run})
        settings = _settings(spec, preset, train_ds, train_log, types)
        prov = results_io.provenance(settings, seed=spec.seed, device=str(dev), dtype=want["dtype"])
        prov = results_io.resumed_provenance(prov, (previous or {}).get("provenance"))
        stamp = results_io.part_stamp(prov)
        order = list(types)
        done = [r for r in (previous or {}).get("layers", []) if r.get("name") in types]
        doc: dict[str, Any] = {
            "schema": "sad-results/1",
            "complete": False,
            "run": run,
            "provenance": prov,
            "layers": done,
        }

        def on_layer(record, doc=doc, writer=writer, order=order, stamp=stamp):
            record["measured_with"] = stamp
            doc["layers"] = merge_records(doc["layers"], [record], order)
            writer.write(doc)

        measure_layers(
            model,
            loss_fn,
            x,
            y,
            types,
            MeasureSettings(k=spec.k, gn=spec.gn, kron=spec.kron, clamp_k=spec.clamp_k, method=spec.method),
            progress=progress,
            skip=frozenset(r["name"] for r in done),
            on_layer=on_layer,
        )
        doc["provenance"]["settings"]["seconds"] = {
            "train_and_data": round(t_train, 2),
            "measure": round(time.perf_counter() - t0, 2),
        }
        writer.write(doc, final=True)


def _layer_types(spec: RunSpec, model: torch.nn.Module, epoch: int) -> dict[str, str]:
    types = {n: t for n, t in layer_table(model).items() if spec.layer_types is None or t in spec.layer_types}
    if spec.trajectory_layers is not None and epoch != max(spec.epochs_to_measure()):
        unknown = sorted(set(spec.trajectory_layers) - set(types))
        if unknown:
            raise PresetError(
                f"{spec.name}: unknown trajectory layer(s) {', '.join(unknown)}; choose from {', '.join(types)}"
            )
        types = {n: t for n, t in types.items() if n in spec.trajectory_layers}
    return types


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
        "kron_gn_labels": KEYED_LABELS if spec.kron else None,  # files made otherwise are not resumed
    }


def _settings(spec, preset, train_ds, train_log, types) -> dict[str, Any]:
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
    defer: Defer | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """Run every spec of preset ``name`` (or those named in ``only``); returns the results files."""
    if name not in PRESETS:
        raise PresetError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    specs = PRESETS[name]
    if only:
        unknown = sorted(set(only) - {s.name for s in specs})
        if unknown:
            raise PresetError(
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
        if log is not None:
            log(f"[{name}] {spec.name}: {spec.model} on {spec.dataset}")
        files += run_spec(
            spec,
            out_dir,
            device=device,
            progress=progress,
            synthetic_fallback=synthetic_fallback,
            cache_dir=cache_dir,
            data_root_dir=data_root_dir,
            preset=name,
            defer=defer,
        )
    return files
