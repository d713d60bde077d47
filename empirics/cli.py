"""``python -m empirics measure ...`` (plus ``train``, ``run`` and ``compare`` when those modules import).

Exit status: 0 ok; 2 bad arguments or input (one line on stderr, no traceback); 3 interrupted
(Ctrl-C or SIGTERM: the layers finished so far stay in ``--out`` with ``complete: false``, and the same
command resumes without recomputing them).

Multi-process: ``torchrun --nproc_per_node=2 -m empirics measure ...`` splits the batch across the
processes (gloo on CPU, NCCL on CUDA); sums are all-reduced and only rank 0 writes the file.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 3
DTYPES = ("float64", "float32")
DEVICES = ("cpu", "cuda")


class BadInput(Exception):
    """A user error reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


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


def add_measure_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("measure", help="measure exact/GN/Kronecker curvature along gradient singular directions")
    p.add_argument("--model", required=True, help="a zoo model, or MODULE:FACTORY / path/file.py:FACTORY (your own)")
    p.add_argument("--dataset", default=None, help="zoo data set (zoo models)")
    p.add_argument("--data", default=None, help="your batch: .pt (weights_only) or .npz with inputs/targets")
    p.add_argument("--loss", default=None, help="with --data: cross_entropy | mse | MODULE:NAME (mean reduction)")
    p.add_argument("--output", default=None, help="with --data: key of the measured tensor of a dict output")
    p.add_argument("--data-root", default=None)
    p.add_argument("--n-classes", type=int, default=None)
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--width", type=int, default=None, help="size knob (conv/ViT width; d_model for gpt2*)")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE", help="other build kwargs")
    p.add_argument("--checkpoint", default=None, help="a checkpoint written by `python -m empirics train`")
    p.add_argument("--batch", type=int, default=None, help="B: the first B samples (zoo: required)")
    p.add_argument("--k", type=int, required=True, help="top-k singular directions per layer")
    p.add_argument("--layers", nargs="+", default=None, help="module names to measure (default: all)")
    p.add_argument("--dtype", default=None, help="float64 (default on CPU) or float32 (default on CUDA)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-gn", action="store_true", help="skip the Gauss-Newton curvature")
    p.add_argument("--no-kron", action="store_true", help="skip the Kronecker sub-record")
    p.add_argument("--fd", action="store_true", help="also record finite-difference curvature h_fd")
    p.add_argument("--fd-eps", type=float, default=1e-3)
    p.add_argument("--fd-dtype", default=None, help="dtype of the finite differences (default: --dtype)")
    p.add_argument("--clamp-k", action="store_true", help="measure min(k, rank) where k exceeds a layer's rank")
    p.add_argument("--chunk-size", type=int, default=None, help="directions per vmap chunk (default: from memory)")
    p.add_argument(
        "--method",
        default="auto",
        help="exact-curvature method: auto (per layer: gn_exact where certified, else the fastest of fwd_fwd, fwd_rev, rev_rev) | gn_exact | fwd_fwd | fwd_rev | rev_rev",
    )
    p.add_argument("--allow-tf32", action="store_true", help="allow TF32 matmuls on CUDA (off by default)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out", required=True, help="results JSON file (resumed if it exists with the same settings)")
    p.set_defaults(func=run_measure)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m empirics", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_measure_parser(sub)
    for mod in ("empirics.train", "empirics.presets", "empirics.compare.cli"):
        try:
            module = __import__(mod, fromlist=["register_cli"])
        except ImportError:
            continue
        if hasattr(module, "register_cli"):
            module.register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


# --------------------------------------------------------------------------------------------------


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
    if args.batch is not None and args.batch < 1:
        raise BadInput(f"--batch must be >= 1 (empty batch), got {args.batch}")
    if args.k < 1:
        raise BadInput(f"--k must be >= 1, got {args.k}")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise BadInput(f"--chunk-size must be >= 1, got {args.chunk_size}")
    from empirics.curvature import METHODS

    if args.method not in METHODS:
        raise BadInput(f"--method: unknown {args.method!r}; choose from {', '.join(METHODS)}")
    if args.fd_eps <= 0:
        raise BadInput(f"--fd-eps must be > 0, got {args.fd_eps}")
    return getattr(torch, dtype_name), torch.device(args.device)


def _load_checkpoint(path: str) -> dict:
    import torch

    p = Path(path)
    if not p.is_file():
        raise BadInput(f"--checkpoint {path}: no such file")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise BadInput(
            f"--checkpoint {path}: unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        ) from None
    if isinstance(ckpt, dict) and "model" in ckpt and isinstance(ckpt["model"], dict):
        return ckpt
    if isinstance(ckpt, dict) and all(hasattr(v, "shape") for v in ckpt.values()):
        return {"model": ckpt}  # a bare state_dict
    raise BadInput(f"--checkpoint {path}: not a model checkpoint (expected a state_dict or a dict with 'model')")


def _model_args(args) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in args.model_arg:
        if "=" not in item:
            raise BadInput(f"--model-arg {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    if args.width is not None:
        out["d_model" if args.model.startswith("gpt2") else "width"] = args.width
    return out


def _build_kwargs(ds, args) -> dict:
    """build_model kwargs that fit the dataset: classes, channels and image size (or the LM context)."""
    kw: dict[str, Any] = {"num_classes": args.n_classes or ds.n_classes, "seed": args.seed}
    if ds.inputs.dim() == 4:
        kw.update(in_channels=int(ds.inputs.shape[1]), image_size=int(ds.inputs.shape[-1]))
    else:
        kw["context"] = int(ds.inputs.shape[1])
        if ds.task == "classification":
            kw["task"] = "classification"
    return {**kw, **_model_args(args)}


def _prepare(args, api, dtype, device):
    """Load data, model (and checkpoint), and the layer table; every user error becomes BadInput."""
    from empirics import distributed as dist
    from empirics import usermodel
    from empirics.layers import resolve_layers

    if usermodel.is_user_model(args.model):  # your own model: empirics/usermodel.py
        ckpt = _load_checkpoint(args.checkpoint) if args.checkpoint else None
        kw = _model_args(args)
        try:
            ds, model, table, x, y = usermodel.prepare(args, kw, ckpt, dtype, device)
        except usermodel.UserModelError as exc:
            raise BadInput(str(exc)) from None
        args.dataset = args.dataset or ds.name
        args.batch = args.batch or dist.global_count(len(y), device=y.device)
        return ds, model, table, x, y, ckpt, kw
    if not args.dataset or args.batch is None:
        raise BadInput("--dataset and --batch are required for a zoo model (your own: --model MODULE:NAME --data FILE)")
    if args.model not in api.MODEL_NAMES:
        raise BadInput(f"--model: unknown model {args.model!r}; choose from {', '.join(api.MODEL_NAMES)}")
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
    kw = dict(ckpt["build_kwargs"]) if ckpt and ckpt.get("build_kwargs") else _build_kwargs(ds, args)
    try:
        model = api.build_model(args.model, **kw)
    except ValueError as exc:
        raise BadInput(f"--model: {exc}") from None
    if ckpt is not None:
        try:
            model.load_state_dict(ckpt["model"])
        except (RuntimeError, KeyError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BadInput(
                f"--checkpoint {args.checkpoint}: does not fit model {args.model!r} ({first[:200]})"
            ) from None
    model = model.to(device=device, dtype=dtype).eval()
    try:
        table = resolve_layers(model, dict(api.layer_table(model)), names=args.layers)
    except ValueError as exc:
        raise BadInput(f"--layers: {exc}") from None
    if not table:
        raise BadInput("--layers: no layer selected")
    x, y = ds.inputs[: args.batch], ds.targets[: args.batch]
    sl = dist.shard(args.batch)
    x, y = x[sl], y[sl]
    x = x.to(device=device, dtype=dtype) if x.is_floating_point() else x.to(device)
    y = y.to(device)
    return ds, model, table, x, y, ckpt, kw


def _run_record(args, api, ds, ckpt, kw, dtype_name, device, loss_fn) -> dict:
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
        },
    }
    if ckpt is not None:
        if "epoch" in ckpt:
            run["epoch"] = int(ckpt["epoch"])
        if isinstance(ckpt.get("metrics"), dict):
            run["train_metrics"] = {k: v for k, v in ckpt["metrics"].items() if k != "epoch"}
    return run


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run_measure(args) -> int:
    """Entry point of ``python -m empirics measure``; returns the exit status."""
    import torch

    from empirics import distributed as dist
    from empirics import results_io
    from empirics.measurement.runner import KTooLarge, measure_layers
    from empirics.quantities import MeasureSettings

    out = Path(args.out)
    previous_handler = signal.signal(signal.SIGTERM, _raise_interrupt)
    doc: dict | None = None
    try:
        dtype, device = _check_args(args)
        dtype_name = str(dtype).replace("torch.", "")
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = bool(args.allow_tf32)
            torch.backends.cudnn.allow_tf32 = bool(args.allow_tf32)
        dist.init_from_env(device.type)
        torch.manual_seed(args.seed)
        api = _api()
        ds, model, table, x, y, ckpt, kw = _prepare(args, api, dtype, device)
        loss_fn = getattr(ds, "loss_fn", None) or api.loss_for(ds)
        run = _run_record(args, api, ds, ckpt, kw, dtype_name, device, loss_fn)
        try:
            previous = results_io.load_for_resume(out, run)
        except results_io.ResumeError as exc:
            raise BadInput(str(exc)) from None
        done = [r for r in (previous or {}).get("layers", []) if r.get("name") in table]
        settings = {
            "bn_mode": "eval",
            "bias_measured": False,
            "layers_measured": table,
            "chunk_size": args.chunk_size,
            "method": args.method,
            "world_size": dist.world_size(),
            "measurement_batch": f"first {args.batch} samples of the train split (seed {args.seed})",
            "dataset_meta": getattr(ds, "meta", {}),
            "resumed_layers": [r["name"] for r in done],
        }
        doc = {
            "schema": "sad-results/1",
            "complete": False,
            "run": run,
            "provenance": results_io.provenance(settings, seed=args.seed, device=str(device), dtype=dtype_name),
            "layers": done,
        }
        order = list(table)

        def save(final: bool = False) -> None:
            doc["layers"].sort(key=lambda r: order.index(r["name"]))
            doc["complete"] = final
            if dist.is_main():
                results_io.write_atomic(out, doc)

        def on_layer(record: dict) -> None:
            doc["layers"].append(record)
            save()

        try:
            settings_ = MeasureSettings(
                k=args.k,
                clamp_k=args.clamp_k,
                method=args.method,
                chunk_size=args.chunk_size,
                gn=not args.no_gn,
                kron=not args.no_kron,
                fd=args.fd,
                fd_eps=args.fd_eps,
                fd_dtype=getattr(torch, args.fd_dtype) if args.fd_dtype else None,
                kron_kwargs={"seed": args.seed},
            )
            measure_layers(
                model,
                loss_fn,
                x,
                y,
                table,
                settings_,
                skip=frozenset(r["name"] for r in done),
                on_layer=on_layer,
                progress=not args.no_progress,
            )
        except KTooLarge as exc:
            raise BadInput(str(exc)) from None
        save(final=True)
        if dist.is_main():
            print(f"wrote {out} ({len(doc['layers'])} layers)", file=sys.stderr)
        return EXIT_OK
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        n = len(doc["layers"]) if doc else 0
        kept = f"{n} finished layer(s) kept in {out}" if n else "no layer finished"
        print(f"interrupted: {kept}; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        dist.shutdown()
