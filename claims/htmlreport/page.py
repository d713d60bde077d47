"""The report's ``index.html``: one self-contained page (inline CSS, a few lines of inline JS that sort a
table by the clicked column, figures as relative links to the PNG files beside it, no external URL)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from ..model import FAILS, HOLDS, INCONCLUSIVE, NO_DATA, Claim, Outcome
from ..report import ci_text, measured_text, printed_text, replication_text, tolerance_text
from .figure import Figure
from .tables import LayerRow, num

GENERATOR = "python -m claims report"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1500px;padding:0 18px 40px;color:#222}
h1{font-size:22px;margin:18px 0 4px}h2{margin-top:34px;border-bottom:1px solid #ccc}h3{margin:24px 0 4px}
.meta,.src,.rule{color:#555;font-size:12.5px}.cols{display:flex;gap:18px;flex-wrap:wrap}
.col{flex:1 1 600px;min-width:0}.col img{max-width:100%;height:auto;border:1px solid #ddd}
.missing{background:#f4f4f4;border:1px dashed #999;padding:14px;color:#444}
table{border-collapse:collapse;font-size:12.5px;width:100%}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0;position:sticky;top:0;cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}td.n{text-align:right;font-variant-numeric:tabular-nums}
.v-holds{background:#d6f5d6}.v-fails{background:#f9d0d0}.v-nodata{background:#eeeeee;color:#666}
.v-inconclusive{background:#fcecc0}
.v-proxy{box-shadow:inset 4px 0 0 #e0a800}.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border:1px solid #ccc}
code{font-size:12px}td.stmt{max-width:420px}.scroll{max-height:80vh;overflow:auto;border:1px solid #ddd}
"""

# Click a header to sort by that column (numbers by data-v, text otherwise; blanks last); click again to reverse.
JS = """
document.querySelectorAll("table.sortable").forEach(function(t){
 t.querySelectorAll("th").forEach(function(th,i){th.addEventListener("click",function(){
  var asc=th.getAttribute("aria-sort")!=="ascending";
  t.querySelectorAll("th").forEach(function(h){h.removeAttribute("aria-sort")});
  th.setAttribute("aria-sort",asc?"ascending":"descending");
  var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
  function key(r){var c=r.cells[i],v=c.getAttribute("data-v");return v===null?c.textContent.trim():v}
  var numeric=rows.every(function(r){var k=key(r);return k===""||!isNaN(parseFloat(k))});
  rows.sort(function(a,b){var x=key(a),y=key(b);if(x==="")return 1;if(y==="")return -1;
   var d=numeric?parseFloat(x)-parseFloat(y):x.localeCompare(y,undefined,{numeric:true});return asc?d:-d});
  rows.forEach(function(r){body.appendChild(r)});
 })})});
"""


@dataclass
class FolderView:
    tag: str  # "results" | "compare": the PNG prefix
    path: str  # as given on the command line
    n_author: int
    n_project: int
    figures: list[Figure]
    outcomes: list[Outcome]
    summary: str
    layers: list[LayerRow]


def e(x: object) -> str:
    return html.escape(str(x), quote=True)


def png_name(tag: str, f: Figure) -> str:
    return f"{tag}-{f.key}.png"


def verdict_class(o: Outcome) -> str:
    c = {HOLDS: "v-holds", FAILS: "v-fails", NO_DATA: "v-nodata", INCONCLUSIVE: "v-inconclusive"}.get(o.verdict, "")
    return c + (" v-proxy" if o.proxy and o.verdict != NO_DATA else "")


def _figure_cell(v: FolderView, f: Figure) -> str:
    head = f"<h4>{e(v.path)}</h4>"
    if f.missing:
        return f'{head}<p class="missing" data-missing="{e(f.key)}">no data in {e(v.path)}: needs {e(f.needs)}</p>'
    src = "; ".join(f.sources)
    notes = "".join(f"<br>note: {e(n)}" for n in f.notes)
    return (
        f'{head}<a href="{e(png_name(v.tag, f))}"><img src="{e(png_name(v.tag, f))}" alt="{e(f.title)} — {e(v.path)}"></a>'
        f'<p class="src">Source: {e(src)}</p><p class="rule">Shown: {e(f.rule)}{notes}</p>'
    )


def _figures(views: list[FolderView]) -> str:
    out = ['<section id="figures"><h2>Figures</h2>']
    for j, f0 in enumerate(views[0].figures):
        out.append(
            f'<div class="figure" id="{e(f0.key)}"><h3>{j + 1}. {e(f0.title)}</h3><p>{e(f0.what)}</p><div class="cols">'
        )
        for v in views:
            out.append(f'<div class="col">{_figure_cell(v, v.figures[j])}</div>')
        out.append("</div></div>")
    out.append("</section>")
    return "\n".join(out)


def _numcell(x: float, d: int = 3) -> str:
    v = "" if x is None or not math.isfinite(x) else repr(float(x))
    return f'<td class="n" data-v="{v}">{num(x, d)}</td>'


def _claims(claims: list[Claim], views: list[FolderView]) -> str:
    hdr = ["id", "where", "statement", "printed", "tolerance"]
    for v in views:
        hdr += [f"value ({v.path})", f"verdict ({v.path})", f"replication ({v.path})"]
    out = [
        '<section id="claims"><h2>Claims</h2>',
        "".join(f"<p class=meta><b>{e(v.path)}</b>: {e(v.summary)}</p>" for v in views),
        '<p class="legend">Verdicts: <span class="v-holds">holds</span><span class="v-fails">fails</span>'
        '<span class="v-inconclusive">inconclusive</span><span class="v-nodata">no data</span>'
        '<span class="v-holds v-proxy">proxy (never a plain pass)</span> '
        "— the same evaluation as <code>python -m claims verify --json</code>. A law judged on the project's files "
        "shows its 95 % interval after its value; the replication column is a number claim's verdict on the project's "
        "re-measurement of its experiment (— where it names none). Click a header to sort.</p>",
        '<div class="scroll"><table class="sortable" id="claims-table"><thead><tr>',
        "".join(f"<th>{e(h)}</th>" for h in hdr),
        "</tr></thead><tbody>",
    ]
    for i, c in enumerate(claims):
        cells = [
            f'<td><code class="claim-id">{e(c.id)}</code></td>',
            f"<td>{e(c.location)}</td>",
            f'<td class="stmt">{e(c.statement)}</td>',
            f"<td>{e(printed_text(c, views[0].outcomes[i]))}</td>",
            f"<td>{e(tolerance_text(c, views[0].outcomes[i]))}</td>",
        ]
        for v in views:
            o = v.outcomes[i]
            title = o.source + (f" ({len(o.records)} records)" if o.records else "")
            ci = f" (95% ci {ci_text(c, o)})" if o.uncertainty is not None else ""
            cells.append(f'<td title="{e(title)}">{e(measured_text(c, o) + ci)}</td>')
            cells.append(f'<td class="{verdict_class(o)}" title="{e(title)}">{e(o.label)}</td>')
            r = o.replication
            rtitle = f"{r.source}; band from: {r.band_from}" if r is not None else ""
            cells.append(f'<td class="rep" title="{e(rtitle)}">{e(replication_text(c, o))}</td>')
        out.append(f'<tr data-claim="{e(c.id)}">' + "".join(cells) + "</tr>")
    out.append("</tbody></table></div></section>")
    return "\n".join(out)


def _layers(views: list[FolderView]) -> str:
    hdr = ("network", "layer", "type", "α", "R² (α fit)", "γ", "s", "|s − αγ|/s", "PR_h", "BIC winner")
    out = [
        '<section id="layers"><h2>Per-layer records</h2>',
        "<p class=meta>α, R², γ, s, the transfer error and PR_h refitted from the stored σ/h arrays where a record keeps "
        "them (theory.fits), otherwise the stored fields; BIC winner refitted from σ (or the stored label where no σ is "
        "kept; blank where neither). Every checkpoint of a project run is listed. Click a header to sort.</p>",
    ]
    for k, v in enumerate(views):
        out.append(f"<h3>{e(v.path)} ({len(v.layers)} layers)</h3>")
        out.append(f'<div class="scroll"><table class="sortable layers" id="layers-{k}"><thead><tr>')
        out.append("".join(f"<th>{e(h)}</th>" for h in hdr) + "</tr></thead><tbody>")
        for r in v.layers:
            bic = e(r.bic) + (f' <span class="meta">({e(r.bic_how)})</span>' if r.bic_how.startswith("stored") else "")
            out.append(
                f'<tr><td title="{e(r.file)}">{e(r.network)}</td><td>{e(r.layer)}</td><td>{e(r.type)}</td>'
                + _numcell(r.alpha)
                + _numcell(r.r2)
                + _numcell(r.gamma)
                + _numcell(r.s)
                + _numcell(r.relerr, 4)
                + _numcell(r.pr_h, 2)
                + f'<td data-v="{e(r.bic)}">{bic}</td></tr>'
            )
        out.append("</tbody></table></div>")
    out.append("</section>")
    return "\n".join(out)


def render(claims: list[Claim], views: list[FolderView], built: str, seconds: float) -> str:
    folders = "; ".join(
        f"{'results' if v.tag == 'results' else 'compare'}: <b>{e(v.path)}</b> ({v.n_author} of the authors' 15 files, "
        f"{v.n_project} sad-results/1 files)"
        for v in views
    )
    drawn = sum(not f.missing for v in views for f in v.figures)
    missing = sum(f.missing for v in views for f in v.figures)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta name="generator" content="{GENERATOR}">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            "<title>Spectral Alignment Decomposition — claims report</title>",
            f"<style>{CSS}</style></head><body>",
            "<h1>Spectral Alignment Decomposition — claims report</h1>",
            f'<p class="meta">{folders}.<br>Built {e(built)} by <code>{GENERATOR}</code> in {seconds:.1f} s: '
            f"{drawn} figures drawn, {missing} listed as missing; {len(claims)} claims.</p>",
            '<p class="meta"><a href="#figures">Figures</a> · <a href="#claims">Claims</a> · <a href="#layers">Per-layer records</a></p>',
            _figures(views),
            _claims(claims, views),
            _layers(views),
            f"<script>{JS}</script>",
            "</body></html>",
        ]
    )
