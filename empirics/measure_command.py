"""The ``measure`` command: arguments checked, data/model/checkpoint loaded and checked, then the layers
measured and written through the one run writer (:class:`empirics.output.RunWriter`), on one or several
processes. Exit statuses and the multi-process rules: :mod:`empirics.cli`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from empirics.arguments import first_line

__all__ = ["run_measure", "BadInput", "EXIT_OK", "EXIT_BAD_INPUT", "EXIT_INTERRUPTED", "EXIT_LAYERS_FAILED"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_LAYERS_FAILED = 0, 2, 3, 4
DTYPES = ("float64", "float32")
DEVICES = ("cpu", "cuda")
T = TypeVar("T")


class BadInput(Exception):
    """A user error reported as one line on stderr with exit status 2."""


def _api() -> SimpleNamespace:
    """The zoo and data entry points (a seam: tests substitute a tiny registry here)."""
    from empirics import data, zoo

    return SimpleNamespace(
        MODEL_NAMES=zoo.MODEL_NAMES,
        ARCHITECTURES=getattr(zoo, "ARCHITECTURES", {}),
        build_model=zoo.build_model,
        layer_table=zoo.layer_table,
        load_dataset=data.load_dataset,
        loss_for=data.loss_for,
        DatasetNotFound=data.DatasetNotFound,
    )


def _check_args(args) -> tuple[Any, Any]:
    import torch

    if args.device not in DEVICES:
        raise BadInput(f"--device: unknown device {args.device!r}; choose from {', '.join(DEVICES)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise BadInput("--device cuda: no CUDA device is available")
    dtype_name = args.dtype or ("float32" if args.device == "cuda" else "float64")
    if dtype_name not in DTYPES:
        raise BadInput(f"--dtype: unknown dtype {dtype_name!r}; choose from {', '.join(DTYPES)}")
    if args.fd_dtype is not None and args.fd_dtype not in DTYPES:
        raise BadInput(f"--fd-dtype: unknown dtype {args.fd_dtype!r}; choose from {', '.join(DTYPES)}")
    from empirics.curvature import METHODS

    if args.method not in METHODS:
        raise BadInput(f"--method: unknown {args.method!r}; choose from {', '.join(METHODS)}")
    return getattr(torch, dtype_name), torch.device(args.device)


def _load_checkpoint(path: str) -> dict:
    """A checkpoint of ``python -m empirics train`` (or a bare state_dict), its fields type-checked and its
    weights finite; every problem is one :class:`BadInput` line naming the file and the field."""
    import torch

    from empirics.model_args import nonfinite_entries

    p = Path(path)
    if not p.exists():
        raise BadInput(f"--checkpoint {path}: no such file")
    if not p.is_file():
        raise BadInput(f"--checkpoint {path}: not a regular file")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise BadInput(f"--checkpoint {path}: unreadable ({first_line(exc, with_type=True)})") from None
    if isinstance(ckpt, dict) and all(isinstance(v, torch.Tensor) for v in ckpt.values()) and ckpt:
        ckpt = {"model": ckpt}  # a bare state_dict
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict) or not ckpt["model"]:
        raise BadInput(f"--checkpoint {path}: not a model checkpoint (expected a state_dict or a dict with 'model')")
    for key, typ, what in (
        ("epoch", int, "an integer"),
        ("model_name", str, "a string"),
        ("build_kwargs", dict, "a dict"),
        ("metrics", dict, "a dict"),
    ):
        value = ckpt.get(key)
        if value is not None and (not isinstance(value, typ) or isinstance(value, bool)):
            raise BadInput(f"--checkpoint {path}: field {key!r} must be {what}, got {value!r:.60}")
    if not all(isinstance(v, torch.Tensor) for v in ckpt["model"].values()):
        raise BadInput(f"--checkpoint {path}: field 'model' must map parameter names to tensors")
    bad = nonfinite_entries(ckpt["model"])
    if bad:
        total = sum(n for _, n in bad)
        raise BadInput(
            f"--checkpoint {path}: {total} non-finite weight value(s) (first in {bad[0][0]!r}); "
            "a diverged training run cannot be measured"
        )
    return ckpt


def _prepare(args, api, dtype, device):
    """Load data, model (and checkpoint), and the layer table; every user error becomes BadInput."""
    from empirics import distributed as dist
    from empirics import usermodel
    from empirics.layers import resolve_layers
    from empirics.model_args import build_kwargs_for, check_model_fits, parse_model_args, size_kwargs

    if usermodel.is_user_model(args.model):  # your own model: empirics/usermodel.py
        ckpt = _load_checkpoint(args.checkpoint) if args.checkpoint else None
        try:
            kw = {**parse_model_args(args.model_arg), **size_kwargs(args.model, args.width)}
            ds, model, table, x, y = usermodel.prepare(args, kw, ckpt, dtype, device)
        except (usermodel.UserModelError, ValueError) as exc:
            raise BadInput(str(exc)) from None
        args.dataset = args.dataset or ds.name
        args.batch = args.batch or dist.global_count(len(y), device=y.device)
        return ds, model, table, x, y, ckpt, kw, ds.loss_fn
    if not args.dataset or args.batch is None:
        raise BadInput("--dataset and --batch are required for a zoo model (your own: --model MODULE:NAME --data FILE)")
    if args.model not in api.MODEL_NAMES:
        raise BadInput(f"--model: unknown model {args.model!r}; choose from {', '.join(api.MODEL_NAMES)}")
    try:
        model_kwargs = {**parse_model_args(args.model_arg), **size_kwargs(args.model, args.width)}
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    ckpt = _load_checkpoint(args.checkpoint) if args.checkpoint else None
    if ckpt and ckpt.get("model_name") not in (None, args.model):
        raise BadInput(
            f"--checkpoint {args.checkpoint}: was trained for model {ckpt['model_name']!r}, not {args.model!r}"
        )
    try:
        ds = api.load_dataset(
            args.dataset,
            split="train",
            root=args.data_root,
            n_classes=args.n_classes,
            image_size=args.image_size,
            n_samples=args.batch,
            seed=args.seed,
        )
    except api.DatasetNotFound as exc:
        raise BadInput(f"--dataset {args.dataset}: {exc}") from None
    except ValueError as exc:
        raise BadInput(f"--dataset: {exc}") from None
    if len(ds.targets) == 0:
        raise BadInput(f"--dataset {args.dataset}: empty dataset (no samples)")
    if len(ds.targets) < args.batch:
        raise BadInput(f"--batch {args.batch}: dataset {args.dataset!r} has only {len(ds.targets)} samples")
    if ckpt and ckpt.get("build_kwargs"):
        kw = dict(ckpt["build_kwargs"])
    else:
        kw = build_kwargs_for(ds, seed=args.seed, model_kwargs=model_kwargs, n_classes=args.n_classes)
    try:
        model = api.build_model(args.model, **kw)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise BadInput(f"--model {args.model}: cannot build it ({first_line(exc, with_type=True)})") from None
    if ckpt is not None:
        try:
            model.load_state_dict(ckpt["model"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise BadInput(
                f"--checkpoint {args.checkpoint}: does not fit model {args.model!r} ({first_line(exc, with_type=True)})"
            ) from None
    model = model.to(device=device, dtype=dtype).eval()
    x, y = ds.inputs[: args.batch], ds.targets[: args.batch]
    x = x.to(device=device, dtype=dtype) if x.is_floating_point() else x.to(device)
    y = y.to(device)
    loss_fn = api.loss_for(ds)
    try:
        check_model_fits(model, x, y, loss_fn, what=f"--model {args.model} on --dataset {args.dataset}")
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    try:
        table = resolve_layers(model, dict(api.layer_table(model)), names=args.layers)
    except ValueError as exc:
        raise BadInput(f"--layers: {exc}") from None
    if not table:
        raise BadInput("--layers: no layer selected")
    sl = dist.shard(args.batch)
    return ds, model, table, x[sl], y[sl], ckpt, kw, loss_fn


def _run_record(args, api, ds, ckpt, kw, dtype_name, device, loss_fn) -> dict:
    from empirics.kron.likelihood import KEYED_LABELS

    loss_name = getattr(loss_fn, "__name__", "loss").lstrip("_")
    run = {
        "model": args.model,
        "architecture": api.ARCHITECTURES.get(args.model, args.model.split("_")[0]),
        "dataset": args.dataset,
        "dataset_kind": ds.kind,
        "n_classes": ds.n_classes if args.n_classes is None else args.n_classes,
        "task": ds.task,
        "batch_size": int(args.batch),
        "k": int(args.k),
        "dtype": dtype_name,
        "device": device.type,
        "seed": int(args.seed),
        "loss": loss_name,
        "build_kwargs": {k: v for k, v in kw.items() if k != "seed"},
        "checkpoint": str(Path(args.checkpoint).resolve()) if args.checkpoint else None,
        "layers_selected": list(args.layers) if args.layers else None,
        "measure": {
            "gn": not args.no_gn,
            "kron": not args.no_kron,
            "fd": bool(args.fd),
            "fd_eps": args.fd_eps if args.fd else None,
            "fd_dtype": (args.fd_dtype or dtype_name) if args.fd else None,
            "clamp_k": bool(args.clamp_k),
            "allow_tf32": bool(args.allow_tf32),
            # how the GN Kronecker factor's Monte-Carlo labels are drawn: files made otherwise are not resumed
            "kron_gn_labels": KEYED_LABELS if not args.no_kron else None,
        },
    }
    if ckpt is not None:
        if "epoch" in ckpt:
            run["epoch"] = int(ckpt["epoch"])
        if isinstance(ckpt.get("metrics"), dict):
            run["train_metrics"] = {k: v for k, v in ckpt["metrics"].items() if k != "epoch"}
    return run


# -- running on one or several processes ------------------------------------------------------------


def _is_main() -> bool:
    from empirics import distributed as dist

    return dist.is_main() if dist.is_distributed() else int(os.environ.get("RANK", "0") or 0) == 0


def _on_main(fn: Callable[[], T]) -> T | None:
    """``fn()`` on rank 0 only; its user error (if any) stops every process (exit 2)."""
    from empirics import distributed as dist
    from empirics.output import OutputError

    result, error = None, None
    if dist.is_main():
        try:
            result = fn()
        except (BadInput, OutputError) as exc:
            error = str(exc)
    error = dist.broadcast_object(error)
    if error:
        raise BadInput(error)
    return result


def _together(fn: Callable[[], T]) -> T:
    """``fn()`` on every process; a user error on any of them stops them all (exit 2)."""
    from empirics import distributed as dist

    result, error = None, None
    try:
        result = fn()
    except BadInput as exc:
        error = str(exc)
    error = dist.first_error(error)
    if error:
        raise BadInput(error)
    return result  # type: ignore[return-value]


def run_measure(args) -> int:
    """Entry point of ``python -m empirics measure``; returns the exit status."""
    if getattr(args, "nproc", 1) > 1 and int(os.environ.get("WORLD_SIZE", "1") or 1) <= 1:
        from empirics.launch import launch

        return launch(getattr(args, "argv", None) or sys.argv[1:], args.nproc)
    from empirics import distributed as dist
    from empirics.output import Interrupts, OutputError

    writer = None
    measured = SimpleNamespace(n=0, out=args.out)
    with Interrupts() as stop:
        try:
            dtype, device = _check_args(args)
            dist.init_from_env(device.type)
            writer = _on_main(lambda: _writer(args.out, stop))
            return _measure(args, dtype, device, writer, measured, stop)
        except (BadInput, OutputError) as exc:
            if _is_main():
                print(f"error: {first_line(exc)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            return _interrupted(measured)
        except Exception as exc:
            if stop.interrupted:  # e.g. a collective broken by this stop
                return _interrupted(measured)
            if _peer_stopped(exc):
                return _interrupted(measured, f"another process of this run stopped ({first_line(exc)})")
            raise
        finally:
            try:
                with stop.deferred():  # a late Ctrl-C does not cut the release of the lock or the group
                    if writer is not None:
                        writer.close()
                    dist.shutdown()
            except KeyboardInterrupt:
                pass  # the outcome above stands (the file is already written as it is)


def _interrupted(measured: SimpleNamespace, why: str = "") -> int:
    if _is_main():
        kept = f"{measured.n} finished layer(s) kept in {measured.out}" if measured.n else "no layer finished"
        head = f"stopped: {why}" if why else "interrupted"
        print(f"{head}: {kept}; rerun the same command to resume", file=sys.stderr)
    return EXIT_INTERRUPTED


#: messages of torch.distributed / gloo errors raised when another process of the run went away
PEER_GONE = ("Connection closed by peer", "Connection reset by peer", "remote worker", "Broken pipe")


def _peer_stopped(exc: BaseException) -> bool:
    """Whether ``exc`` is a torch.distributed communication failure (another process of the run stopped)."""
    try:
        from torch.distributed import DistError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, DistError) or (isinstance(exc, RuntimeError) and any(text in str(exc) for text in PEER_GONE))


def _writer(out: str, stop):
    from empirics.output import RunWriter
    from empirics.schema import validate

    return RunWriter(out, validator=validate, identity=lambda doc: doc["run"], defer=stop.deferred).start()


def _measure(args, dtype, device, writer, measured: SimpleNamespace, stop=None) -> int:
    import torch

    from empirics import distributed as dist
    from empirics import results_io
    from empirics.measurement.runner import KTooLarge, measure_layers
    from empirics.output.writer import merge_records
    from empirics.quantities import MeasureSettings

    dtype_name = str(dtype).replace("torch.", "")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = bool(args.allow_tf32)
        torch.backends.cudnn.allow_tf32 = bool(args.allow_tf32)
    torch.manual_seed(args.seed)
    api = _api()
    ds, model, table, x, y, ckpt, kw, loss_fn = _together(lambda: _prepare(args, api, dtype, device))
    run = _run_record(args, api, ds, ckpt, kw, dtype_name, device, loss_fn)
    previous = _on_main(lambda: writer.load(run))
    measured.out = str(writer.path) if writer is not None else args.out
    done_names = dist.broadcast_object([r["name"] for r in (previous or {}).get("layers", []) if r["name"] in table])
    assert isinstance(done_names, list)
    if previous is not None and previous.get("complete") and set(table) <= set(done_names):
        if dist.is_main():
            print(f"{measured.out}: already complete ({len(done_names)} layers); nothing to measure", file=sys.stderr)
        return EXIT_OK
    settings = {
        "bn_mode": "eval",
        "bias_measured": False,
        "layers_measured": table,
        "chunk_size": args.chunk_size,
        "max_memory": getattr(args, "max_memory", None),
        "method": args.method,
        "world_size": dist.world_size(),
        "measurement_batch": (
            f"first {args.batch} samples of {args.data}"
            if getattr(args, "data", None)
            else f"first {args.batch} samples of the train split (seed {args.seed})"
        ),
        "dataset_meta": getattr(ds, "meta", {}),
        "resumed_layers": done_names,
    }
    prov = results_io.provenance(
        settings, seed=args.seed, device=str(device), dtype=dtype_name, world_size=dist.world_size()
    )
    prov = results_io.resumed_provenance(prov, (previous or {}).get("provenance"))
    stamp = results_io.part_stamp(prov)
    kept = [r for r in (previous or {}).get("layers", []) if r.get("name") in table]
    doc: dict[str, Any] = {"schema": "sad-results/1", "complete": False, "run": run, "provenance": prov, "layers": kept}
    measured.n = len(kept)
    order = list(table)

    def on_layer(record: dict) -> None:
        if stop is not None and stop.interrupted:  # a stop that an optional quantity turned into a note: the
            raise KeyboardInterrupt  # layer is not kept (a resume measures it again)
        record["measured_with"] = stamp
        # write and count in one deferred block: a stop is raised after both (the message counts what is on disk)
        with stop.deferred() if stop is not None else contextlib.nullcontext():
            if writer is not None:
                doc["layers"] = merge_records(doc["layers"], [record], order)
                writer.write(doc)
            measured.n += 1

    failed: dict[str, str] = {}

    def on_error(name: str, exc: BaseException) -> None:
        if stop is not None and stop.interrupted:  # a stop signal surfacing as an op's error (e.g. inside
            raise KeyboardInterrupt from exc  # TorchScript, which wraps it in a RuntimeError): not a failed layer
        failed[name] = first_line(exc, with_type=True, limit=300)

    try:
        measure_layers(
            model,
            loss_fn,
            x,
            y,
            table,
            MeasureSettings(
                k=args.k,
                clamp_k=args.clamp_k,
                method=args.method,
                chunk_size=args.chunk_size,
                max_memory=getattr(args, "max_memory", None),
                gn=not args.no_gn,
                kron=not args.no_kron,
                fd=args.fd,
                fd_eps=args.fd_eps,
                fd_dtype=getattr(torch, args.fd_dtype) if args.fd_dtype else None,
                kron_kwargs={"seed": args.seed},
            ),
            skip=frozenset(done_names),
            on_layer=on_layer,
            # one process: a layer that fails is reported and the others are measured; several processes
            # stop together (a layer skipped on one rank only would leave the others waiting in a collective)
            on_error=on_error if dist.world_size() == 1 else None,
            progress=not args.no_progress,
        )
    except KTooLarge as exc:
        raise BadInput(str(exc)) from None
    if failed:  # the finished layers are kept; the file stays partial, so a rerun retries the failed ones
        doc["provenance"]["settings"]["failed_layers"] = failed
        doc["layers"] = merge_records(doc["layers"], [], order)
        if writer is not None:
            writer.write(doc)
        for name, why in failed.items():
            print(f"error: layer {name!r} failed: {why}", file=sys.stderr)
        print(
            f"{len(failed)} of {len(table)} layer(s) failed; {len(doc['layers'])} measured layer(s) kept in "
            f"{measured.out} (complete: false); --layers to leave them out, or rerun to retry them",
            file=sys.stderr,
        )
        return EXIT_LAYERS_FAILED
    if writer is not None:
        doc["layers"] = merge_records(doc["layers"], [], order)
        writer.write(doc, final=True)
        print(f"wrote {measured.out} ({len(doc['layers'])} layers)", file=sys.stderr)
    return EXIT_OK
