"""The pieces of a self-contained report page: escaping, tables, inline images and SVG curves,
the group browser's data and script, and the page shell.

A report travels (mailed, attached to an issue, opened from a laptop with no network), so the
page loads nothing: styles and script are inline, images are data URIs or inline SVG, and a
Content-Security-Policy forbids every fetch. Model text is never markup: the server side escapes
it, the script only ever sets ``textContent``, and the embedded JSON escapes ``<``, ``>`` and ``&``.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .model import Browser

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def h(value: Any) -> str:
    """Text as HTML: every ``<``, ``>``, ``&`` and quote escaped."""
    return html.escape(str(value), quote=True)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "") -> str:
    """An HTML table of text cells (escaped)."""
    head = "".join(f"<th>{h(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{h(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{h(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def inline_png(path: Path) -> str | None:
    """A PNG as a data URI, or None when the file is missing."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure(path: Path, caption: str) -> str:
    """An inline PNG with its caption; nothing when the plot was not drawn."""
    uri = inline_png(path)
    if uri is None:
        return ""
    return f'<figure><img src="{uri}" alt="{h(caption)}"><figcaption>{h(caption)}</figcaption></figure>'


def _finite(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]


def svg_curves(title: str, series: Mapping[str, Sequence[tuple[float, float]]], width: int = 330, height: int = 160) -> str:
    """A small line chart as inline SVG: one polyline per named series, the y range labelled.
    An empty chart says "no data logged" instead of showing bare axes."""
    curves = {name: _finite(points) for name, points in series.items()}
    curves = {name: points for name, points in curves.items() if points}
    left, right, top, bottom = 44, 8, 20, 22
    out = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    out.append(f'<title>{h(title)}</title><text x="{left}" y="13" class="t">{h(title)}</text>')
    if not curves:
        out.append(f'<text x="{width / 2}" y="{height / 2}" class="nodata" text-anchor="middle">no data logged</text></svg>')
        return "".join(out)
    xs = [x for points in curves.values() for x, _ in points]
    ys = [y for points in curves.values() for _, y in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * plot_h

    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="frame"/>')
    for value in (y0, y1):
        out.append(f'<text x="{left - 4}" y="{py(value) + 4:.1f}" text-anchor="end" class="tick">{h(f"{value:.3g}")}</text>')
    for value in (x0, x1):
        out.append(f'<text x="{px(value):.1f}" y="{height - 6}" text-anchor="middle" class="tick">{h(f"{value:.0f}")}</text>')
    for i, (name, points) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{coords}"><title>{h(name)}</title></polyline>'
        )
        if len(points) == 1:
            x, y = points[0]
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{colour}"/>')
        if len(curves) > 1:
            out.append(f'<text x="{left + 6 + 90 * i}" y="{top + 12}" fill="{colour}" class="legend">{h(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def data_script(element_id: str, data: Any) -> str:
    """JSON inside a non-executed script element; ``<``, ``>`` and ``&`` escaped so that no text in
    it (``</script>``, ``<!--``) can end the element early."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f'<script type="application/json" id="{h(element_id)}">{text}</script>'


def browser_section(browser: Browser) -> str:
    """The group browser: its filters, its data and the script that lists the groups."""
    note = f'<p class="note">{h(browser.note)}</p>' if browser.note else ""
    return (
        '<section id="browser"><h2>Groups</h2>'
        f"<p>Each prompt with its completions, best total first. {len(browser.groups)} groups in this page.</p>{note}"
        '<div class="filters">'
        '<label>paid by <select id="f-reward"><option value="">any reward</option></select></label> '
        '<label>has spread in <select id="f-spread"><option value="">-</option></select></label> '
        '<label>flag <select id="f-flag"><option value="">any</option></select></label> '
        '<label id="f-step-label">step <select id="f-step"><option value="">any</option></select></label> '
        '<label><input type="checkbox" id="f-paid"> paid but wrong</label> '
        '<label>text <input type="search" id="f-text" placeholder="prompt or completion"></label> '
        '<span id="count" role="status"></span></div>'
        '<nav class="pager"><button type="button" id="prev">previous</button> <span id="page"></span> '
        '<button type="button" id="next">next</button></nav>'
        '<div id="groups"></div>'
        f"{data_script('groups-data', browser.as_json())}</section>"
    )


def page(title: str, body: str, browser: Browser | None = None) -> str:
    """The whole document: inline style, the body, the browser and its script."""
    script = f"<script>{SCRIPT}</script>" if browser is not None else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{h(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{h(title)}</h1>{body}{browser_section(browser) if browser is not None else ''}{script}</body></html>\n"
    )


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}thead th{background:#f4f4f4}
figure{display:inline-block;margin:.4em;vertical-align:top}figure img{max-width:640px;border:1px solid #eee}
figcaption{font-size:.85em;color:#666}.note{color:#8a5300}.bad{color:#b00020;font-weight:600}
.chart{border:1px solid #eee;margin:4px}.chart .t{font-size:12px}.chart .tick,.chart .legend{font-size:10px}
.chart .frame{fill:none;stroke:#ccc}.chart .nodata{fill:#999;font-size:12px}
.charts{display:flex;flex-wrap:wrap}
.filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #eee;z-index:1}
.filters label{margin-right:1em}.group{border:1px solid #ccc;border-radius:4px;margin:.8em 0;padding:.5em}
.group .prompt{background:#f7f7f7;max-height:8em;overflow:auto}.flags span{background:#fde7c7;border-radius:3px;
padding:0 4px;margin-right:4px;font-size:.85em}.sides{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:.6em}
.side h4{margin:.3em 0}.completion{border-top:1px solid #eee;padding:.3em 0}.completion.attack{background:#fff4f4}
pre{white-space:pre-wrap;word-break:break-word;margin:.2em 0;font-size:12.5px}
.scoreline span{margin-right:1em;font-size:12.5px}.scoreline b{margin-right:1em}.scoreline .none{color:#b00020}.tag{color:#b00020;font-size:.85em;margin-right:.5em}.clipped{color:#999;font-size:.85em}
details{font-size:12px}details dl{margin:.2em 0 .2em 1em}dt{font-weight:600}dd{margin-left:1em}
.pager{margin:.5em 0}
"""

# The browser: reads #groups-data, filters, paginates, and builds every element with textContent.
SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("groups-data").textContent);
  var PER_PAGE = 20, pageNo = 0;
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function num(v) { return v === null || v === undefined ? "-" : (Math.abs(v) >= 1000 || v === Math.round(v) ? String(v) : String(parseFloat(v.toPrecision(3)))); }
  function fill(select, values) {
    values.forEach(function (v) { var o = el("option", v); o.value = v; select.appendChild(o); });
  }
  fill($("f-reward"), data.rewards);
  fill($("f-spread"), data.rewards.concat(["total"]));
  fill($("f-flag"), data.flags);
  var steps = [];
  data.groups.forEach(function (g) { if (g.step !== null && steps.indexOf(String(g.step)) < 0) { steps.push(String(g.step)); } });
  if (steps.length) { fill($("f-step"), steps); } else { $("f-step-label").hidden = true; }

  function hasSpread(group, name) {
    return group.sides.some(function (side) {
      var seen = {};
      side.completions.forEach(function (c) {
        if (c.kind !== "completion") { return; }
        var v = name === "total" ? c.total : c.values[name];
        if (v !== null && v !== undefined) { seen[v] = true; }
      });
      return Object.keys(seen).length > 1;
    });
  }
  function paidWrong(group) {
    return group.sides.some(function (s) {
      return s.completions.some(function (c) { return c.tags.some(function (t) { return t.indexOf("paid but wrong") === 0; }); });
    });
  }
  function matches(group) {
    var reward = $("f-reward").value, spread = $("f-spread").value, flag = $("f-flag").value;
    var text = $("f-text").value.toLowerCase(), step = $("f-step").value;
    if (step && String(group.step) !== step) { return false; }
    if (reward && !group.sides.some(function (s) { return s.completions.some(function (c) { return (c.values[reward] || 0) !== 0; }); })) { return false; }
    if (spread && !hasSpread(group, spread)) { return false; }
    if (flag && !group.flags.some(function (f) { return f.split(":")[0] === flag; })) { return false; }
    if ($("f-paid").checked && !paidWrong(group)) { return false; }
    if (text) {
      var hay = group.prompt.toLowerCase();
      group.sides.forEach(function (s) { s.completions.forEach(function (c) { hay += "\n" + c.text.toLowerCase(); }); });
      if (hay.indexOf(text) < 0) { return false; }
    }
    return true;
  }
  function explain(c) {
    var names = Object.keys(c.explain);
    if (!names.length) { return null; }
    var d = el("details"), dl = el("dl");
    d.appendChild(el("summary", "why (explain)"));
    names.forEach(function (n) {
      dl.appendChild(el("dt", n));
      var v = c.explain[n];
      if (v && typeof v === "object") {
        Object.keys(v).forEach(function (k) {
          var val = v[k];
          dl.appendChild(el("dd", k + ": " + (val !== null && typeof val === "object" ? JSON.stringify(val) : String(val))));
        });
      } else { dl.appendChild(el("dd", String(v))); }
    });
    d.appendChild(dl);
    return d;
  }
  function completion(c, rank) {
    var box = el("div", null, "completion " + c.kind);
    var line = el("div", null, "scoreline");
    line.appendChild(el("b", c.kind === "attack" ? "attack" : "#" + rank));
    line.appendChild(el("span", "total " + num(c.total), "total"));
    line.appendChild(el("span", "advantage " + num(c.advantage), "advantage"));
    data.rewards.forEach(function (n) {
      if (c.kind === "attack" && c.values[n] === undefined) { return; }
      var text = n + " " + num(c.values[n]);
      if (c.parts[n] !== undefined) { text += " (" + (c.parts[n] >= 0 ? "+" : "") + num(c.parts[n]) + ")"; }
      if (c.closed.indexOf(n) >= 0) { text += " gate closed"; }
      line.appendChild(el("span", text, c.values[n] === null ? "none" : ""));
    });
    box.appendChild(line);
    c.tags.forEach(function (tag) { box.appendChild(el("span", tag, "tag")); });
    box.appendChild(el("pre", c.text));
    if (c.clipped) { box.appendChild(el("span", "(cut to the first characters)", "clipped")); }
    var why = explain(c);
    if (why) { box.appendChild(why); }
    return box;
  }
  function groupBox(g) {
    var box = el("section", null, "group");
    box.setAttribute("data-key", g.key);
    box.appendChild(el("h3", g.key));
    box.appendChild(el("pre", g.prompt, "prompt"));
    if (g.flags.length) {
      var flags = el("div", null, "flags");
      g.flags.forEach(function (f) { flags.appendChild(el("span", f)); });
      box.appendChild(flags);
    }
    var sides = el("div", null, "sides");
    g.sides.forEach(function (s) {
      var col = el("div", null, "side");
      col.appendChild(el("h4", s.label));
      var rank = 0;
      s.completions.forEach(function (c) { if (c.kind === "completion") { rank += 1; } col.appendChild(completion(c, rank)); });
      sides.appendChild(col);
    });
    box.appendChild(sides);
    return box;
  }
  function render() {
    var shown = data.groups.filter(matches);
    var pages = Math.max(1, Math.ceil(shown.length / PER_PAGE));
    pageNo = Math.min(pageNo, pages - 1);
    var list = $("groups");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    shown.slice(pageNo * PER_PAGE, (pageNo + 1) * PER_PAGE).forEach(function (g) { list.appendChild(groupBox(g)); });
    $("count").textContent = shown.length + " of " + data.groups.length + " groups match";
    $("page").textContent = "page " + (pageNo + 1) + " of " + pages;
    $("prev").disabled = pageNo === 0;
    $("next").disabled = pageNo >= pages - 1;
  }
  ["f-reward", "f-spread", "f-flag", "f-step", "f-paid", "f-text"].forEach(function (id) {
    $(id).addEventListener("input", function () { pageNo = 0; render(); });
    $(id).addEventListener("change", function () { pageNo = 0; render(); });
  });
  $("prev").addEventListener("click", function () { pageNo -= 1; render(); });
  $("next").addEventListener("click", function () { pageNo += 1; render(); });
  render();
})();
"""
