"""Build the report: read the folder(s), evaluate, draw, write ``OUT/index.html`` + PNGs.

Everything is written into a fresh temporary folder beside ``OUT`` and moved into place only when complete,
so a failure never leaves a half-written report over an old one. An existing ``OUT`` is replaced only if it
is empty or was itself written by this command (it holds :data:`MARKER`): a results folder or any other
folder given by mistake is refused, never deleted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..bundle import Bundle
from ..errors import InputError
from ..integrity import integrity_claims
from ..report import integrity_summary, replication_summary, summary
from .figdata import all_figures
from .figlaws import fig_law_intervals
from .page import GENERATOR, FolderView, png_name, render
from .tables import evaluate_all, layer_rows

MARKER = ".claims-report"


@dataclass
class Built:
    out: Path
    seconds: float
    drawn: dict[str, list[str]]  # folder → figure keys drawn
    missing: dict[str, list[str]]  # folder → figure keys listed as missing
    n_claims: int
    n_layers: dict[str, int]

    def line(self) -> str:
        parts = [
            f"{d}: {len(self.drawn[d])} figures drawn"
            + (f", missing {', '.join(self.missing[d])}" if self.missing[d] else "")
            + f", {self.n_layers[d]} layers"
            for d in self.drawn
        ]
        return (
            f"wrote {self.out / 'index.html'} ({self.n_claims} claims; "
            + "; ".join(parts)
            + f") in {self.seconds:.1f} s"
        )


def _load(folder: str) -> Bundle:
    b = Bundle(folder)
    b.check_usable()
    b.load_all()
    return b


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "", "--out exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise InputError(
            str(out), "", f"--out exists, is not empty and was not written by `{GENERATOR}`; refusing to replace it"
        )


def _swap(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def _plots():  # type: ignore[no-untyped-def]
    try:
        from . import plots  # matplotlib is imported here and nowhere else
    except ImportError as e:
        raise InputError(
            "matplotlib", "", f"cannot import it ({e}); the report needs `pip install matplotlib`"
        ) from None
    return plots


def build(results: str, out: str | Path, compare: str | None = None) -> Built:
    t0 = time.perf_counter()
    from ..registry import REGISTRY

    plots = _plots()

    folders = [("results", results)] + ([("compare", compare)] if compare is not None else [])
    bundles = [(tag, path, _load(path)) for tag, path in folders]
    out = Path(out)
    _check_out(out)
    claims = list(REGISTRY.values())
    views = []
    for tag, path, b in bundles:
        outs = evaluate_all(claims, b)
        checks = integrity_claims(b)
        line = summary(claims, outs) + ". " + integrity_summary(checks, evaluate_all(checks, b))
        rep = replication_summary(claims, outs)
        line += (". " + rep) if rep else ""
        figs = all_figures(b) + [fig_law_intervals(claims, outs)]
        views.append(FolderView(tag, path, len(b.present), len(b.project), figs, outs, line, layer_rows(b)))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as e:
        raise InputError(str(out), "", f"cannot create the output folder: {e.strerror or e}") from None
    try:
        for v in views:
            for f in v.figures:
                if not f.missing:
                    plots.render(f, tmp / png_name(v.tag, f))
        built = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        seconds = time.perf_counter() - t0
        (tmp / "index.html").write_text(render(claims, views, built, seconds), encoding="utf-8")
        (tmp / MARKER).write_text(f"written by {GENERATOR}; this folder is replaced whole on the next build\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        _swap(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(str(out), "", f"cannot write the report: {e.strerror or e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Built(
        out,
        time.perf_counter() - t0,
        {v.path: [f.key for f in v.figures if not f.missing] for v in views},
        {v.path: [f.key for f in v.figures if f.missing] for v in views},
        len(claims),
        {v.path: len(v.layers) for v in views},
    )
