"""Running a preset: train each :class:`~empirics.presets.spec.RunSpec` once per training seed (cached), measure
each checkpoint on every measurement batch with the engine, and write one ``sad-results/1`` file per (checkpoint,
seed, batch) through the one run writer (:class:`empirics.output.RunWriter`).

Files: ``<name>[_e<epoch>][_s<seed>_b<batch>].json`` (:meth:`RunSpec.out_name`): the epoch when a run measures
several (α over training, App. E), seed and batch index when it repeats. Every file records ``run.run_name``
(the spec's name), ``run.seed``, ``run.batch_index``, ``run.epoch`` and, for a paper experiment,
``run.experiment`` (:mod:`empirics.schema`). All files of a spec are locked before its training starts (a second
run on the same folder exits 2 naming the holder). A complete file is skipped; a partial one is resumed layer by
layer; a file made with other settings (spec, dtype, device, or the run record of the checkpoint) is refused
with one line. Checkpoints are cached (``cache_dir``, default ``$SAD_CACHE`` or ``~/.cache/sad-verify``) under a
hash of the training settings (seed included), written atomically, and the cache folder is locked while a run
trains into it.

Measurement batches: one permutation of the training split, seeded with the training seed; batch ``b`` is its
samples ``[b·B, (b+1)·B)`` — disjoint within a checkpoint, the same batch at every checkpoint of one seed. A
spec whose ``n_batches · B`` exceeds the split is refused with one line before anything is trained.
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
from empirics.experiments import FULL_SCALE
from empirics.kron.likelihood import KEYED_LABELS
from empirics.model_args import build_kwargs_for, nonfinite_entries
from empirics.output import OutputLock, RunWriter
from empirics.output.target import remove_orphan_temps, write_text_atomic
from empirics.output.writer import merge_records
from empirics.presets.scales import scaled
from empirics.presets.spec import RunSpec
from empirics.presets.tables import PRESETS
from empirics.schema import validate
from empirics.train import train
from empirics.zoo import ARCHITECTURES, build_model, layer_table
from empirics.zoo.weights import load_weights

__all__ = [
    "PresetError",
    "default_cache_dir",
    "experiment_record",
    "identity",
    "load_data",
    "measurement_batches",
    "run_preset",
    "run_spec",
]

Defer = Callable[[], AbstractContextManager[Any]]


class PresetError(ValueError):
    """A preset cannot run as asked (missing dataset/weights, diverged training); one line."""


def default_cache_dir() -> Path:
    """Where trained checkpoints are cached: ``$SAD_CACHE`` if set, else ``~/.cache/sad-verify``."""
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
    folder = cache / f"{spec.model}-{spec.dataset}-{spec.train_key()}"  # shared by specs with one training
    wanted = spec.epochs_to_save()
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
                load_weights(model, wpath)
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
    """Train (cached) each seed of ``spec``, then measure every (checkpoint, seed, batch) not yet complete in
    ``out_dir``; returns the files. ``defer``: the interrupt handler's write guard
    (:meth:`empirics.output.Interrupts.deferred`)."""
    out = Path(out_dir)
    dtype, dev = _dtype_device(device)
    wants = {seed: _want(spec.for_seed(seed), dtype, dev) for seed in spec.seed_list()}
    writers: dict[tuple[int, int, int], RunWriter] = {}
    try:
        for e in spec.epochs_to_measure():
            for seed, batch in spec.cells():
                w = RunWriter(out / spec.out_name(e, seed, batch), validator=validate, identity=identity, defer=defer)
                writers[(e, seed, batch)] = w
                w.start()
        todo = [key for key, w in writers.items() if not (w.load(wants[key[1]]) or {}).get("complete")]
        for seed in spec.seed_list():
            mine = [(e, b) for e, s, b in todo if s == seed]
            if mine:
                one = spec.for_seed(seed)
                jobs = {(e, b): writers[(e, seed, b)] for e, b in mine}
                _measure_spec(one, spec, jobs, wants[seed], dtype, dev, progress, synthetic_fallback, cache_dir,
                              data_root_dir, preset)  # fmt: skip
        return [w.path for w in writers.values()]
    finally:
        for w in writers.values():
            w.close()


def _want(one: RunSpec, dtype: torch.dtype, dev: torch.device) -> dict[str, Any]:
    return {
        "spec": json.loads(json.dumps(dataclasses.asdict(one), default=str)),
        "dtype": str(dtype).replace("torch.", ""),
        "device": dev.type,
    }


def measurement_batches(n: int, batch_size: int, n_batches: int, seed: int) -> list[torch.Tensor]:
    """Disjoint index sets of ``batch_size`` samples out of ``n``: consecutive slices of one permutation seeded
    with ``seed`` (batch ``b`` = slice ``[b·B, (b+1)·B)``); raises :class:`PresetError` when ``n_batches·B > n``."""
    if n_batches * batch_size > n:
        raise PresetError(
            f"{n_batches} disjoint measurement batches of B = {batch_size} need {n_batches * batch_size} samples; "
            f"the training split has {n}"
        )
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return [perm[b * batch_size : (b + 1) * batch_size] for b in range(n_batches)]


def _measure_spec(spec, full, jobs, want, dtype, dev, progress, fallback, cache_dir, root, preset) -> None:
    """Measure the (epoch, batch) ``jobs`` of one training seed (``spec`` = ``full.for_seed(seed)``)."""
    from empirics.measurement.runner import measure_layers
    from empirics.quantities import MeasureSettings

    t_start = time.perf_counter()
    train_ds = load_data(spec, "train", fallback, spec.train_samples, root)
    try:
        index = measurement_batches(len(train_ds), spec.batch_size, full.n_batches, spec.seed)
    except PresetError as exc:
        raise PresetError(f"{spec.name}: {exc}") from None
    test_ds = load_data(spec, "test", fallback, None, root)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir() / preset
    ckpts = _checkpoints(spec, train_ds, test_ds, cache, root, progress, fallback, dev)
    t_train = time.perf_counter() - t_start
    train_log = json.loads((ckpts[spec.epochs_to_measure()[0]].parent / "train_metrics.json").read_text())
    loss_fn = loss_for(train_ds)
    for epoch in sorted({e for e, _ in jobs}):
        ckpt = torch.load(ckpts[epoch], map_location="cpu", weights_only=True)
        bad = nonfinite_entries(ckpt["model"])
        if bad:
            raise PresetError(f"{spec.name}: the epoch-{epoch} checkpoint has non-finite weights (first {bad[0][0]!r})")
        model = build_model(ckpt["model_name"], **ckpt["build_kwargs"])
        model.load_state_dict(ckpt["model"])
        model = model.to(dev, dtype).eval()
        types = _layer_types(spec, model, epoch)
        for b in sorted(bi for e, bi in jobs if e == epoch):
            t0 = time.perf_counter()
            batch = train_ds.subset(index[b])
            x = batch.inputs.to(dev, dtype) if batch.inputs.is_floating_point() else batch.inputs.to(dev)
            y = batch.targets.to(dev)
            run = _run_record(spec, train_ds, batch, epoch, ckpt["metrics"], ckpt["build_kwargs"], dtype, dev)
            run["batch_index"] = b
            if spec.experiment is not None:
                run["experiment"] = experiment_record(spec, train_ds)
            writer = jobs[(epoch, b)]
            previous = writer.load({**want, "run": run})
            settings = _settings(spec, preset, train_ds, train_log, types) | {
                "repetition": {"seeds": list(full.seed_list()), "n_batches": full.n_batches, "batch_index": b}
            }
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


def experiment_record(spec: RunSpec, train_ds: Dataset) -> dict[str, Any]:
    """``run.experiment``: the paper experiment ``spec`` re-measures; a proxy when the data are a stand-in
    (synthetic fallback), the scale is not full, or the spec says why it is one."""
    reasons = []
    if train_ds.kind != "real":
        reasons.append(f"stand-in data: {train_ds.name} substitutes {spec.dataset}")
    if spec.scale != FULL_SCALE:
        reasons.append(f"scale {spec.scale!r}: reduced widths, data, B, k and training")
    if spec.proxy_reason:
        reasons.append(spec.proxy_reason)
    return {
        "id": spec.experiment,
        "proxy": bool(reasons),
        "proxy_reason": "; ".join(reasons) or None,
        "scale": spec.scale,
    }


def _layer_types(spec: RunSpec, model: torch.nn.Module, epoch: int) -> dict[str, str]:
    types = {n: t for n, t in layer_table(model).items() if spec.layer_types is None or t in spec.layer_types}
    if spec.layer_names is not None:
        unknown = sorted(set(spec.layer_names) - set(types))
        if unknown:
            raise PresetError(f"{spec.name}: unknown layer(s) {', '.join(unknown)}; choose from {', '.join(types)}")
        types = {n: t for n, t in types.items() if n in spec.layer_names}
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
        "measurement_batch": "samples [b·B, (b+1)·B) of a permutation of the train split seeded with the training seed",
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
    scale: str = FULL_SCALE,
) -> list[Path]:
    """Run every spec of preset ``name`` (or those named in ``only``) at ``scale``
    (:mod:`empirics.presets.scales`); returns the results files."""
    if name not in PRESETS:
        raise PresetError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    specs = [scaled(s, scale) for s in PRESETS[name]]
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
            preset=name if scale == FULL_SCALE else f"{name}-{scale}",
            defer=defer,
        )
    return files
