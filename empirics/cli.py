"""``python -m empirics <command>``: the parser and entry point.

``measure`` runs in :mod:`empirics.measure_command`; ``train``, ``run`` and ``compare`` register from their own
modules.

Exit status: 0 ok; 2 bad arguments or input (one line on stderr, no traceback) — also an ``--out`` that is
a folder, a device, a FIFO or in a folder that cannot be written (checked before any work), or an ``--out``
another run is writing (its lock names that run's pid and host); 3 interrupted (Ctrl-C or SIGTERM, at any
moment: the layers finished so far stay in ``--out`` with ``complete: false``, and the same command resumes
without recomputing them; each layer records the session that measured it in ``measured_with``); 4 some
layers failed (one line each on stderr naming the layer; the others are measured and kept, the file stays
``complete: false`` with the reasons under ``provenance.settings.failed_layers``, and a rerun retries only the
failed ones — single process; with several processes a failing layer stops the run).

Multi-process: ``python -m empirics measure --nproc 2 ...`` (:mod:`empirics.launch`, one machine, with the exit
statuses above) or ``torchrun --nproc_per_node=2 -m empirics measure ...`` (each worker exits as above; torchrun
reports any non-zero worker status as its own failure) split the batch across the processes (gloo on CPU, NCCL
on CUDA); sums are all-reduced, the Monte-Carlo labels of the Gauss–Newton
Kronecker factor are drawn per sample (keyed by seed and global sample index), so the file equals the
single-process one up to summation order and a run may be resumed with another process count. Rank 0
checks and locks ``--out`` and writes it; every process stops with the same exit status.
"""

from __future__ import annotations

import argparse
import sys

from empirics.arguments import byte_size, nonnegative_int, positive_float, positive_int
from empirics.measure_command import EXIT_INTERRUPTED, run_measure

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _add_measure_parser(sub) -> argparse.ArgumentParser:
    """Add the ``measure`` subcommand and its options to ``sub``; returns its parser."""
    p = sub.add_parser("measure", help="measure exact/GN/Kronecker curvature along gradient singular directions")
    p.add_argument("--model", required=True, help="a zoo model, or MODULE:FACTORY / path/file.py:FACTORY (your own)")
    p.add_argument("--dataset", default=None, help="zoo data set (zoo models)")
    p.add_argument("--data", default=None, help="your batch: .pt (weights_only) or .npz with inputs/targets")
    p.add_argument("--loss", default=None, help="with --data: cross_entropy | mse | MODULE:NAME (mean reduction)")
    p.add_argument("--output", default=None, help="with --data: key of the measured tensor of a dict output")
    p.add_argument("--data-root", default=None)
    p.add_argument("--n-classes", type=positive_int, default=None)
    p.add_argument("--image-size", type=positive_int, default=None)
    p.add_argument("--width", type=positive_int, default=None, help="size knob (conv/ViT width; d_model for gpt2*)")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE", help="other build kwargs")
    p.add_argument("--checkpoint", default=None, help="a checkpoint written by `python -m empirics train`")
    p.add_argument("--batch", type=positive_int, default=None, help="B: the first B samples (zoo: required)")
    p.add_argument("--k", type=positive_int, required=True, help="top-k singular directions per layer")
    p.add_argument("--layers", nargs="+", default=None, help="module names to measure (default: all)")
    p.add_argument("--dtype", default=None, help="float64 (default on CPU) or float32 (default on CUDA)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--no-gn", action="store_true", help="skip the Gauss-Newton curvature")
    p.add_argument("--no-kron", action="store_true", help="skip the Kronecker sub-record")
    p.add_argument("--fd", action="store_true", help="also record finite-difference curvature h_fd")
    p.add_argument("--fd-eps", type=positive_float, default=1e-3)
    p.add_argument("--fd-dtype", default=None, help="dtype of the finite differences (default: --dtype)")
    p.add_argument("--clamp-k", action="store_true", help="measure min(k, rank) where k exceeds a layer's rank")
    p.add_argument(
        "--chunk-size", type=positive_int, default=None, help="directions per vmap chunk (default: from memory)"
    )
    p.add_argument(
        "--max-memory",
        type=byte_size,
        default=None,
        help="working-memory budget of the fwd_adj passes, e.g. 512M (default: from free memory); below what "
        "the method needs for the model, its layers fail with that least",
    )
    p.add_argument(
        "--method",
        default="auto",
        help="exact-curvature method: auto (per layer: gn_exact where certified, else the fastest of fwd_fwd, fwd_rev, rev_rev) | gn_exact | fwd_fwd | fwd_rev | rev_rev",
    )
    p.add_argument("--allow-tf32", action="store_true", help="allow TF32 matmuls on CUDA (off by default)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out", required=True, help="results JSON file (resumed if it exists with the same settings)")
    p.add_argument(
        "--nproc", type=positive_int, default=1, help="local worker processes (like torchrun, with this exit status)"
    )
    p.set_defaults(func=run_measure)
    return p


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m empirics`` parser: ``measure`` plus the subcommands that ``train``, ``presets`` and ``compare``
    register (those whose import fails are left out)."""
    parser = _Parser(prog="python -m empirics", description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_measure_parser(sub)
    for mod in ("empirics.train", "empirics.presets", "empirics.compare.cli"):
        try:
            module = __import__(mod, fromlist=["register_cli"])
        except ImportError:
            continue
        if hasattr(module, "register_cli"):
            module.register_cli(sub)
    return parser


#: third-party modules imported up front, while a stop signal is held back (see :func:`main`)
PRELOAD = ("torch", "torch._dynamo", "sklearn.datasets")


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def main(argv: list[str] | None = None) -> int:
    """``python -m empirics``: parse, run the command; a stop signal before the command starts is exit 3.

    The command line is parsed and the heavy third-party modules (:data:`PRELOAD`) are imported while a
    stop signal is held back (:meth:`~empirics.output.Interrupts.deferred`): a ``KeyboardInterrupt`` raised
    in the middle of a package's import can leave it half-initialised (seen: numpy recursing on its own lazy
    attributes afterwards), so the signal is acted on once the imports are complete.
    """
    from empirics.output import Interrupts

    with Interrupts() as stop:
        try:
            with stop.deferred():
                args = build_parser().parse_args(argv)
                args.argv = list(sys.argv[1:] if argv is None else argv)
                if not getattr(args, "list", False):
                    _preload()
            return int(args.func(args) or 0)
        except KeyboardInterrupt:
            print("interrupted: stopped before any work started", file=sys.stderr)
            return EXIT_INTERRUPTED


# --------------------------------------------------------------------------------------------------
