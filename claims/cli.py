"""``python -m claims verify|list|show|report``.

Exit status: 0 nothing fails (report: written), 1 some claim or integrity check fails, 2 unusable input
(one line on stderr naming the file and JSON path, or the argument; never a traceback). An ``inconclusive``
verdict (a law whose interval on the project's data straddles its band) is neither a pass nor a fail: like
``no data`` it does not change the exit status, and the summary line counts it."""

from __future__ import annotations

import argparse
import json
import sys

from .context import Bands, Context
from .errors import InputError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m claims", description="Check the paper's claims against results files.")
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="evaluate every claim and cross-check every results file")
    v.add_argument("--results", default="results/", help="results folder (default: results/)")
    g = v.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="print a JSON list of claim objects")
    g.add_argument("--markdown", action="store_true", help="print a markdown table (docs/claims-verdicts.md)")
    g.add_argument(
        "--laws",
        action="store_true",
        help="print the law claims judged on this folder as a markdown table with 95%% intervals and n's (README)",
    )
    v.add_argument(
        "--only",
        choices=("holds", "fails", "inconclusive", "no data"),
        help="print only claims with this verdict (exit status unchanged)",
    )
    v.add_argument("--xrefs", action="store_true", help="also print the printed-vs-printed consistency checks")
    _band_option(v)
    sub.add_parser("list", help="list the registry")
    s = sub.add_parser("show", help="one claim (or integrity check): rule, data, candidate rules")
    s.add_argument("id")
    s.add_argument("--results", default="results/")
    _band_option(s)
    r = sub.add_parser("report", help="write OUT/index.html + PNG figures (claims, per-layer table, six figure types)")
    r.add_argument("--results", default="results/", help="results folder (default: results/)")
    r.add_argument("--compare", metavar="DIR2", help="a second results folder shown beside the first")
    r.add_argument("--out", required=True, help="output folder (replaced whole; refused if it holds anything else)")
    return p


def _band_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--band",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a law band of CLAIMS.md §3.2 (exponent=0.15 and ratio=0.05: finite, > 0; "
        "most=0.5: in [0.5, 1)); repeatable, once per name",
    )


def _verify(args: argparse.Namespace) -> int:
    from . import report
    from .bundle import Bundle
    from .evaluate import evaluate
    from .integrity import integrity_claims
    from .model import FAILS
    from .registry import REGISTRY

    ctx = Context(Bands.parse(args.band))
    b = Bundle(args.results)
    b.check_usable()
    b.load_all()
    claims = list(REGISTRY.values()) + integrity_claims(b)
    outs = [evaluate(c, b, ctx) for c in claims]
    status = 1 if any(o.verdict == FAILS for o in outs) else 0
    summary_line = report.summary(claims, outs)
    replication_line = report.replication_summary(claims, outs)
    integrity_line = report.integrity_summary(claims, outs)
    details = report.integrity_details(claims, outs)
    partial_line = report.partial_summary(outs)
    if args.only:
        keep = [k for k, o in enumerate(outs) if o.verdict == args.only]
        claims, outs = [claims[k] for k in keep], [outs[k] for k in keep]
    if args.json:
        print(json.dumps([report.row(c, o) for c, o in zip(claims, outs, strict=True)], indent=1))
    elif args.laws:
        print(report.law_table(claims, outs))
    elif args.markdown:
        print(report.markdown(claims, outs))
        print()
        print(summary_line)
        print()
        if replication_line:
            print(replication_line)
            print()
        print(integrity_line)
    else:
        print(report.table(claims, outs))
        print()
        for line in details:
            print(line)
        if args.xrefs:
            from .xrefs import render

            print(render())
        print(summary_line)
        if replication_line:
            print(replication_line)
        print(integrity_line)
        if partial_line:
            print(partial_line)
        override = ctx.bands.override_text()
        print(
            f"law bands (CLAIMS.md §3.2, configurable with --band): {ctx.bands.describe()}"
            + (f" — {override}" if override else " (the registry's defaults)")
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
    from .integrity import integrity_claims
    from .registry import REGISTRY

    ctx = Context(Bands.parse(args.band))
    c = REGISTRY.get(args.id)
    b = None
    if c is None and args.id.startswith("integrity."):
        b = Bundle(args.results)
        b.load_all()
        c = next((x for x in integrity_claims(b) if x.id == args.id), None)
    if c is None:
        print(f"error: unknown claim id {args.id!r} (see `python -m claims list`)", file=sys.stderr)
        return 2
    b = b or Bundle(args.results)  # a missing folder is an error; an empty one gives `no data`
    print(report.show(c, evaluate(c, b, ctx)))
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
