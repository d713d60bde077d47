"""``python -m claims verify|list|show|report``. Exit: 0 nothing fails (report: written), 1 some claim fails, 2 unusable input."""

from __future__ import annotations

import argparse
import json
import sys

from .errors import InputError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m claims", description="Check the paper's claims against results files.")
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="evaluate every claim")
    v.add_argument("--results", default="results/", help="results folder (default: results/)")
    g = v.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="print a JSON list of claim objects")
    g.add_argument("--markdown", action="store_true", help="print a markdown table (for the README)")
    v.add_argument(
        "--only",
        choices=("holds", "fails", "no data"),
        help="print only claims with this verdict (exit status unchanged)",
    )
    v.add_argument("--xrefs", action="store_true", help="also print the printed-vs-printed consistency checks")
    v.add_argument(
        "--band",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a law band of CLAIMS.md §3.2 (exponent=0.15, ratio=0.05, most=0.5); repeatable",
    )
    sub.add_parser("list", help="list the registry")
    s = sub.add_parser("show", help="one claim: rule, data, candidate rules")
    s.add_argument("id")
    s.add_argument("--results", default="results/")
    r = sub.add_parser("report", help="write OUT/index.html + PNG figures (claims, per-layer table, six figure types)")
    r.add_argument("--results", default="results/", help="results folder (default: results/)")
    r.add_argument("--compare", metavar="DIR2", help="a second results folder shown beside the first")
    r.add_argument("--out", required=True, help="output folder (replaced whole; refused if it holds anything else)")
    return p


def _set_bands(items: list[str]) -> None:
    """Apply --band overrides before the registry is imported (the law claims read the bands then)."""
    from .tolerance import BANDS

    if items and "claims.registry" in sys.modules:
        raise InputError("--band", "", "bands must be set before the registry is loaded")
    for item in items:
        name, _, value = item.partition("=")
        if name not in BANDS:
            raise InputError("--band", "", f"unknown band {name!r}; one of {sorted(BANDS)}")
        try:
            BANDS[name] = float(value)
        except ValueError:
            raise InputError("--band", "", f"{name}: not a number: {value!r}") from None


def _verify(args: argparse.Namespace) -> int:
    _set_bands(args.band)
    from . import report
    from .bundle import Bundle
    from .evaluate import evaluate
    from .model import FAILS
    from .registry import REGISTRY

    b = Bundle(args.results)
    b.check_usable()
    b.load_all()
    claims = list(REGISTRY.values())
    outs = [evaluate(c, b) for c in claims]
    status = 1 if any(o.verdict == FAILS for o in outs) else 0
    summary_line = report.summary(claims, outs)
    if args.only:
        keep = [k for k, o in enumerate(outs) if o.verdict == args.only]
        claims, outs = [claims[k] for k in keep], [outs[k] for k in keep]
    if args.json:
        print(json.dumps([report.row(c, o) for c, o in zip(claims, outs, strict=True)], indent=1))
    elif args.markdown:
        print(report.markdown(claims, outs))
        print()
        print(summary_line)
    else:
        print(report.table(claims, outs))
        print()
        from .evaluate import all_drift

        drift = all_drift(b) + sorted({n for o in outs for n in o.notes if n.startswith("summary drift")})
        if drift:
            print(f"summary drift ({len(drift)} stored fields disagree with the recomputation; see `show ID`):")
            for d in drift:
                print(f"  {d}")
        else:
            print(
                "summary drift: none (every stored per-layer fit and summary field cross-checked agrees with the recomputation)"
            )
        if args.xrefs:
            from .xrefs import render

            print(render())
        print(summary_line)
        from .tolerance import BANDS

        print(
            "law bands (CLAIMS.md §3.2, configurable with --band): " + ", ".join(f"{k}={v:g}" for k, v in BANDS.items())
        )
    return status


def _list() -> int:
    from .registry import REGISTRY

    for c in REGISTRY.values():
        print(f"{c.id}\t{c.kind}\t{c.location}\t{c.statement}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from . import report
    from .bundle import Bundle
    from .evaluate import evaluate
    from .registry import REGISTRY

    c = REGISTRY.get(args.id)
    if c is None:
        print(f"error: unknown claim id {args.id!r} (see `python -m claims list`)", file=sys.stderr)
        return 2
    b = Bundle(args.results)  # a missing folder is an error; an empty one gives `no data`
    print(report.show(c, evaluate(c, b)))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "verify":
            return _verify(args)
        if args.cmd == "list":
            return _list()
        if args.cmd == "report":
            from .htmlreport.build import build  # the only path that imports matplotlib

            print(build(args.results, args.out, args.compare).line())
            return 0
        return _show(args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
