r"""The spectral transfer relation :math:`s=\alpha\gamma` (Prop. 7, Remark 2): median relative errors
:math:`|s-\alpha\gamma|/s` and layer counts, recomputed per row (alpha_triangle from the raw σ, h arrays;
tiny and in1k from the stored α, γ, s). Printed in the Abstract, §3, §7, Fig. 2 and App. H."""

from __future__ import annotations

from ..bundle import Bundle
from ..checks import Measure, MeasureFn
from ..context import Context
from ..model import Candidate, Perturb
from ..perturb import flip, rec_from_ref, relerr_of, set_relerr
from ..records import Layer, Network, networks, ref
from ..selections import SEL_A, SEL_B, sel_a, sel_b
from ..stats import median

#: the three files of the pooled 93-layer set
POOLED = ("alpha_triangle", "tiny", "in1k")


def rows(b: Bundle, keys: tuple[str, ...]) -> list[tuple[Network, Layer]]:
    """(network, layer) of every row of these files."""
    return [(n, lay) for k in keys for n in networks(b, k) for lay in n.layers]


def pct_median(layers: list[Layer]) -> float:
    """100 × the median relative transfer error."""
    return 100 * median(lay.relerr for lay in layers)


# -- perturbations ------------------------------------------------------------------------------
def _scale_err(c_fn):
    """Scale every selected row's relative error below 30 % by c (the median, far below, scales by exactly c;
    the few large-error rows stay above it)."""

    def go(docs, out):
        c = c_fn(out)
        for r in out.records:
            rec = rec_from_ref(docs, r)
            e = relerr_of(rec)
            if e <= 0.3:
                set_relerr(rec, c * e)

    return go


def median_perturb(printed: float) -> Perturb:
    """Away: scale the small errors by 1.5; towards: by printed / measured."""
    return flip(_scale_err(lambda o: 1.5), _scale_err(lambda o: printed / o.measured))


def _containers(docs, key):
    d = docs[key]
    if key == "alpha_triangle":
        return [blk["results"] for blk in d]
    return [d["results"]]


def _drop(key_of_rows, n_fn):
    """Remove n rows (or, for n < 0, duplicate -n rows) of the named file."""

    def go(docs, out):
        n = n_fn(out)
        refs = [r for r in out.records if r.startswith(key_of_rows)]
        for r in refs[: max(n, 0)]:
            rec = rec_from_ref(docs, r)
            for container in _containers(docs, key_of_rows):
                if rec in container:
                    container.remove(rec)
        for r in refs[: max(-n, 0)]:
            rec = rec_from_ref(docs, r)
            for container in _containers(docs, key_of_rows):
                if rec in container:
                    container.append(dict(rec))

    return go


def count_perturb(key: str, printed: int) -> Perturb:
    """Away: drop one row; towards: drop (or duplicate) rows to the printed count."""
    return flip(_drop(key, lambda o: 1), _drop(key, lambda o: o.measured - printed))


# -- CIFAR (alpha_triangle), sel. A ---------------------------------------------------------------
def cifar(stat: str, stated: int) -> MeasureFn:
    """alpha_triangle rows under sel. A rule ``stated``: ``median`` (% rel err), ``n`` or ``n_wellcond``."""

    def measure(b: Bundle, ctx: Context) -> Measure:
        all_rows = [(n, lay) for n in networks(b, "alpha_triangle") for lay in n.layers]
        refs = {id(lay): ref(n, lay) for n, lay in all_rows}
        f = {"median": pct_median, "n": len, "n_wellcond": lambda ls: sum(lay.relerr <= 0.10 for lay in ls)}[stat]
        chosen = sel_a(b, stated)
        cands = [
            Candidate(f"sel. A{r}: {SEL_A[r]}", f(sel_a(b, r)), len(sel_a(b, r)), same=True)
            for r in SEL_A
            if r != stated
        ]
        joint = [
            r
            for r in SEL_A
            if len(sel_a(b, r)) == 20
            and sum(x.relerr <= 0.10 for x in sel_a(b, r)) == 19
            and abs(pct_median(sel_a(b, r)) - 1.9) <= 0.05
        ]
        note = f"joint check of App. H's '20 layers, 19 ≤ 10 %, median 1.9 %': reproduced by sel. A rules {joint or 'none'}"
        return Measure(
            f(chosen),
            f"alpha_triangle → [*].results[] refit from sigma, h_exact; sel. A{stated}: {SEL_A[stated]}",
            [refs[id(lay)] for lay in chosen],
            cands,
            [note],
        )

    return measure


def _wellcond_toward(docs, out):
    """Push (measured − 19) well-conditioned rows above 10 % (or pull rows below)."""
    d = out.measured - 19
    recs = [rec_from_ref(docs, r) for r in out.records]
    good = [r for r in recs if relerr_of(r) <= 0.10]
    bad = [r for r in recs if relerr_of(r) > 0.10]
    for r in good[: max(d, 0)]:
        set_relerr(r, 0.2)
    for r in bad[: max(-d, 0)]:
        set_relerr(r, 0.05)


def _wellcond_away(docs, out):
    good = [r for r in (rec_from_ref(docs, x) for x in out.records) if relerr_of(r) <= 0.10]
    set_relerr(good[0], 0.2)


#: the perturbation of the well-conditioned count (App. H's 19)
WELLCOND_PERTURB: Perturb = flip(_wellcond_away, _wellcond_toward)


# -- Tiny-ImageNet and ImageNet-1K: all rows ------------------------------------------------------
def single(key: str, stat: str) -> MeasureFn:
    """All rows of tiny or in1k: the median relative error (%) or the row count; the file's own summary is a candidate."""

    def measure(b: Bundle, ctx: Context) -> Measure:
        (net,) = networks(b, key)
        all_rows = net.layers
        node = b.need(key)["summary"]
        sv = node["triangle"]["median_rel_error_pct"] if key == "tiny" else node["triangle_median_err_pct"]
        cands = [Candidate(f"file summary {sv.path}", sv.num(), None, same=True)]
        if key == "tiny":
            cands.append(
                Candidate("conv type only", pct_median(net.of_type("conv")), len(net.of_type("conv")), same=True)
            )
            cands.append(
                Candidate(
                    "all but fc", pct_median([x for x in all_rows if x.type != "head"]), len(all_rows) - 1, same=True
                )
            )
        else:
            cands += [
                Candidate(f"sel. B{r}: {SEL_B[r]}", pct_median(sel_b(b, r)), len(sel_b(b, r)), same=True)
                for r in SEL_B
                if r != 5
            ]
        value = pct_median(all_rows) if stat == "median" else len(all_rows)
        return Measure(
            value,
            f"{key} → results[] (all rows); rel err = |s_hessian − α·γ|/s_hessian",
            [ref(net, x) for x in all_rows],
            cands,
            [],
        )

    return measure


# -- pooled: alpha_triangle + tiny + in1k ---------------------------------------------------------
def pooled(stat: str) -> MeasureFn:
    """The pooled 93-layer set: the count of rows with a rel err (``n``) or their median rel err in %."""

    def measure(b: Bundle, ctx: Context) -> Measure:
        all_rows = rows(b, POOLED)
        layers = [lay for _, lay in all_rows]
        finite = [lay for lay in layers if lay.relerr == lay.relerr]
        cands = []
        value: float
        if stat == "n":
            value = len(finite)
            cands += [
                Candidate(f"rows with rel err < {t} %", sum(lay.relerr < t / 100 for lay in finite), None, same=True)
                for t in (5, 10, 20)
            ]
            cands.append(Candidate("all rows", len(layers), None, same=True))
        else:
            value = pct_median(finite)
            cands.append(
                Candidate(
                    "rel err ≤ 10 % rows",
                    pct_median([x for x in finite if x.relerr <= 0.1]),
                    sum(x.relerr <= 0.1 for x in finite),
                )
            )
        return Measure(
            value,
            "alpha_triangle + tiny + in1k → [*].results[] (all rows with a rel err)",
            [ref(n, lay) for n, lay in all_rows],
            cands,
        )

    return measure
