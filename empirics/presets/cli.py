"""``python -m empirics run --preset cpu|paper --out results/``: exit 0 ok; 2 bad input (one line: unknown run,
missing dataset, an output folder that cannot be written, an output another run is writing, a file made with
other settings); 3 interrupted (Ctrl-C or SIGTERM at any moment: finished layers kept, the same command
resumes)."""

from __future__ import annotations

import argparse
import sys
import time

from empirics.arguments import first_line
from empirics.presets.tables import PRESETS

__all__ = ["register_cli", "run_cli"]


def register_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``run``: ``python -m empirics run --preset cpu|paper --out results/``."""
    p = subparsers.add_parser("run", help="train and measure a preset sweep (cpu: shipped results; paper: GPU sweep)")
    p.add_argument("--preset", required=True, choices=sorted(PRESETS))
    p.add_argument("--out", default="results", help="folder of the results files (one per measured checkpoint)")
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


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_cli(args: argparse.Namespace) -> int:
    """Entry point of ``python -m empirics run``: 0 ok, 2 bad input (one line), 3 interrupted (resumable)."""
    if args.list:
        for s in PRESETS[args.preset]:
            print(
                f"{s.name}: {s.model} {s.model_kwargs} on {s.dataset} {s.data_kwargs}; epochs {s.epochs}, "
                f"measured at {list(s.epochs_to_measure())}, B={s.batch_size}, k={s.k}"
            )
        return 0
    from empirics.output import Interrupts

    with Interrupts() as stop:
        import torch

        from empirics.data import DatasetNotFound
        from empirics.presets.run import run_preset

        try:
            if args.device is not None and args.device.split(":")[0] not in ("cpu", "cuda"):
                raise ValueError(f"--device: unknown device {args.device!r}; choose from cpu, cuda")
            if args.device and args.device.startswith("cuda") and not torch.cuda.is_available():
                raise ValueError(f"--device {args.device}: CUDA is not available")
            t0 = time.perf_counter()
            files = run_preset(
                args.preset,
                args.out,
                device=args.device,
                progress=not args.no_progress,
                synthetic_fallback=args.synthetic_fallback,
                cache_dir=args.cache_dir,
                data_root_dir=args.data_root,
                only=args.only,
                defer=stop.deferred,
                log=None if args.no_progress else _log,
            )
        except (ValueError, DatasetNotFound) as exc:
            print(f"error: {first_line(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"interrupted: finished layers kept in {args.out}; rerun the same command to resume", file=sys.stderr)
            return 3
    print(f"{len(files)} results file(s) in {args.out} ({time.perf_counter() - t0:.0f} s)")
    return 0
