"""``python -m empirics compare --preset tiny|cpu|gpu [--optimizers ...] [--seeds N] [--epochs E] [--out results/]``.

Exit status: 0 ok; 2 bad arguments or input (one line on stderr, no traceback: unknown optimizer, model or
dataset, seeds < 1, a missing local dataset, an output that is a device/FIFO or cannot be written, an output
another run is writing, an existing file made with other settings); 3 interrupted (Ctrl-C or SIGTERM at any
moment: finished cells stay in the file, and the same command resumes without rerunning them).
"""

from __future__ import annotations

import argparse
import sys
import time

from empirics.arguments import first_line, positive_int
from empirics.compare.spec import PRESETS

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 3


def register_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "compare", help="optimizer comparison (AdamW, Spectral Newton, Muon, App. M scalar configs) → sad-optim/1"
    )
    p.add_argument("--preset", required=True, choices=sorted(PRESETS))
    p.add_argument(
        "--optimizers",
        nargs="+",
        default=None,
        help="configs to run (default: all): adamw sn muon spectral_beta05 spectral_beta10 spectral_beta15 "
        "inverse_spectral random_perlayer (optimizer names scalar_beta05 ... and adam_baseline are accepted)",
    )
    p.add_argument(
        "--seeds", type=positive_int, default=None, help="number of seeds (the preset's list, extended by +1)"
    )
    p.add_argument("--epochs", type=positive_int, default=None)
    p.add_argument("--model", default=None, help="zoo model (default: the preset's)")
    p.add_argument(
        "--dataset",
        default=None,
        help="dataset (default: the preset's; gpu: cifar10 with --data-dir, else synthetic-cifar)",
    )
    p.add_argument("--data-dir", default=None, help="root of local datasets (CIFAR-10/100 python pickle batches)")
    p.add_argument("--out", default="results", help="folder (file <experiment>.json) or a .json path")
    p.add_argument("--device", default=None, help="cpu (default) or cuda")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_cli)
    return p


def _config(name: str) -> str:
    from empirics.compare_schema import ALIASES, CONFIG_NAMES, OPTIMIZER_OF

    if name in CONFIG_NAMES:
        return name
    if name in ALIASES:
        return ALIASES[name]
    inverse = {v: k for k, v in OPTIMIZER_OF.items()}
    if name in inverse:
        return inverse[name]
    raise ValueError(f"--optimizers: unknown optimizer {name!r}; choose from {', '.join(CONFIG_NAMES)}")


def build_spec(args: argparse.Namespace):
    """The preset with the command line's overrides applied; every user error is a ValueError (one line)."""
    from empirics.data import DATASET_NAMES
    from empirics.zoo import MODEL_NAMES

    spec = PRESETS[args.preset]
    kw: dict = {}
    if args.optimizers is not None:
        cfgs = [_config(n) for n in args.optimizers]
        kw["configs"] = tuple(dict.fromkeys(cfgs))
    if args.seeds is not None:
        if args.seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
        base = list(spec.seeds)
        kw["seeds"] = tuple((base + [base[-1] + 1 + i for i in range(args.seeds)])[: args.seeds])
    if args.epochs is not None:
        if args.epochs < 1:
            raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
        kw["epochs"] = args.epochs
    if args.model is not None:
        if args.model not in MODEL_NAMES:
            raise ValueError(f"--model: unknown model {args.model!r}; choose from {', '.join(MODEL_NAMES)}")
        kw["model"] = args.model
    dataset = args.dataset
    if dataset is None and args.preset == "gpu" and args.data_dir is None:
        dataset = "synthetic-cifar"  # no local CIFAR given: the synthetic CIFAR-shaped task
    if dataset is not None:
        if dataset not in DATASET_NAMES:
            raise ValueError(f"--dataset: unknown dataset {dataset!r}; choose from {', '.join(DATASET_NAMES)}")
        kw["dataset"] = dataset
    return spec.with_overrides(**kw)


def run_cli(args: argparse.Namespace) -> int:
    from empirics.output import Interrupts

    with Interrupts() as stop:
        import torch

        from empirics.compare.run import run_compare
        from empirics.data import DatasetNotFound

        try:
            if args.device is not None and args.device not in ("cpu", "cuda") and not args.device.startswith("cuda:"):
                raise ValueError(f"--device: unknown device {args.device!r}; choose from cpu, cuda")
            if args.device and args.device.startswith("cuda") and not torch.cuda.is_available():
                raise ValueError(f"--device {args.device}: CUDA is not available")
            t0 = time.perf_counter()
            spec = build_spec(args)
            path = run_compare(
                spec,
                args.out,
                device=args.device,
                data_root=args.data_dir,
                progress=not args.no_progress,
                defer=stop.deferred,
            )
        except (ValueError, DatasetNotFound) as exc:
            print(f"error: {first_line(exc)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except ImportError as exc:
            print(f"error: the optimizers are unavailable ({exc})", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print(f"interrupted: finished cells kept in {args.out}; rerun the same command to resume", file=sys.stderr)
            return EXIT_INTERRUPTED
    print(f"wrote {path} ({time.perf_counter() - t0:.0f} s)")
    return EXIT_OK
