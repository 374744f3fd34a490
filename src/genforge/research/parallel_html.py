"""A study's trials as interactive parallel coordinates: one self-contained HTML file (``sweep show NAME
--html FILE``), with brushing — drag along an axis to keep the trials whose value lies in that range,
several axes at once; click an axis to clear its range.

Optuna's ``optuna.visualization.plot_parallel_coordinate`` draws this with plotly, which is not a
genforge dependency (and its HTML loads plotly.js, 3.5 MB, from a CDN unless inlined). So the page is
written here: the trials as JSON in the page, an SVG drawn by ~80 lines of plain JavaScript, no network
asset. The axes are the matplotlib picture's (:func:`genforge.research.plot._axis_values`: log scale
when the space says so, a categorical's choices evenly spaced, an unmet condition stepped over) plus the
objective; lines are coloured by the objective, the best drawn last. The file depends only on the
study's record, so regenerating it gives the same bytes.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError
from genforge.core.io import atomic_write_text
from genforge.research.plot import _axis_values

_SCRIPT = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const W = 160 * D.axes.length + 80, H = 360, TOP = 30, BOT = 40, NS = 'http://www.w3.org/2000/svg';
const svg = document.getElementById('pc');
svg.setAttribute('width', W); svg.setAttribute('height', H + TOP + BOT);
const x = i => 60 + i * 160, y = v => TOP + (1 - v) * H;
const brush = D.axes.map(() => null);
function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  (parent || svg).appendChild(e); return e;
}
const lines = D.trials.map(t => {
  let d = '', pen = 'M';
  t.pos.forEach((v, i) => { if (v === null) return;  /* an unmet condition: the line steps over this axis */ d += `${pen}${x(i)},${y(v)} `; pen = 'L'; });
  const p = el('path', {d, fill: 'none', stroke: t.color, 'stroke-width': t.best ? 3 : 1.4, class: 'trial'});
  p.dataset.number = t.number; return p;
});
function kept(t) {
  return brush.every((b, i) => b === null || (t.pos[i] !== null && t.pos[i] >= b[0] && t.pos[i] <= b[1]));
}
function update() {
  let n = 0; const rows = [];
  D.trials.forEach((t, k) => {
    const on = kept(t); lines[k].setAttribute('class', on ? 'trial' : 'trial off');
    if (on) { n += 1; rows.push(t); }
  });
  document.getElementById('count').textContent = `${n} of ${D.trials.length} trials shown`;
  const body = document.getElementById('rows'); body.innerHTML = '';
  rows.forEach(t => {
    const tr = document.createElement('tr');
    [t.number, ...t.text].forEach(c => { const td = document.createElement('td'); td.textContent = c; tr.appendChild(td); });
    body.appendChild(tr);
  });
}
D.axes.forEach((a, i) => {
  const g = el('g', {class: 'axis', 'data-axis': a.name});
  el('line', {x1: x(i), x2: x(i), y1: TOP, y2: TOP + H, stroke: '#333'}, g);
  el('text', {x: x(i), y: TOP + H + 24, 'text-anchor': 'middle'}, g).textContent = a.name;
  a.ticks.forEach((v, k) => { el('text', {x: x(i) + 6, y: y(v) + 4, class: 'tick'}, g).textContent = a.labels[k]; });
  const band = el('rect', {x: x(i) - 9, width: 18, y: 0, height: 0, class: 'band'}, g);
  const grip = el('rect', {x: x(i) - 12, width: 24, y: TOP, height: H, class: 'grip'}, g);
  let start = null;
  const at = ev => {  // 0..1 along the axis; within 2 px of an end is that end (a drag to the end keeps it)
    const v = 1 - (ev.clientY - svg.getBoundingClientRect().top - TOP) / H;
    return v < 2 / H ? 0 : v > 1 - 2 / H ? 1 : v;
  };
  grip.addEventListener('mousedown', ev => { start = at(ev); ev.preventDefault(); });
  window.addEventListener('mousemove', ev => {
    if (start === null) return;
    const now = at(ev), lo = Math.min(start, now), hi = Math.max(start, now);
    band.setAttribute('y', y(hi)); band.setAttribute('height', y(lo) - y(hi));
  });
  window.addEventListener('mouseup', ev => {
    if (start === null) return;
    const now = at(ev), lo = Math.min(start, now), hi = Math.max(start, now); start = null;
    if (hi - lo < 0.01) { brush[i] = null; band.setAttribute('height', 0); }
    else { brush[i] = [lo, hi]; band.setAttribute('y', y(hi)); band.setAttribute('height', y(lo) - y(hi)); }
    update();
  });
});
update();
"""

_STYLE = """
body { font: 13px sans-serif; margin: 16px; color: #222; }
path.trial { opacity: 0.85; } path.trial.off { stroke: #ccc; opacity: 0.35; }
rect.grip { fill: transparent; cursor: ns-resize; } rect.band { fill: #4a90d9; opacity: 0.3; }
text.tick { font-size: 10px; fill: #555; } table { border-collapse: collapse; margin-top: 12px; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
"""


def _color(fraction: float) -> str:
    """A viridis-like ramp from dark purple (0) to yellow (1), the better end yellow."""
    stops = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
    f = min(max(fraction, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(f), len(stops) - 2)
    t = f - i
    r, g, b = (round(a + (c - a) * t) for a, c in zip(stops[i], stops[i + 1], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def page_data(summary: dict[str, Any]) -> dict[str, Any]:
    """The axes and trials the page draws (positions on 0..1 axes, null for an unmet condition)."""
    study = summary["study"]
    space = study["space"]["params"]
    trials = [t for t in summary["trials"] if t["state"] == "complete" and t["value"] is not None]
    if not trials:
        raise ConfigError(f"study '{study['name']}' has no complete trial to plot yet")
    axes, columns = [], []
    for name, spec in space.items():
        column, ticks, labels = _axis_values(spec, [t["params"].get(name) for t in trials])
        axes.append({"name": name, "ticks": ticks, "labels": labels})
        columns.append(column)
    values = [float(t["value"]) for t in trials]
    lo, hi = min(values), max(values)
    width = (hi - lo) or 1.0
    axes.append({"name": study["metric"], "ticks": [0.0, 0.5, 1.0],
                 "labels": [f"{lo + k * width:.4g}" for k in (0.0, 0.5, 1.0)]})  # fmt: skip
    columns.append([(v - lo) / width for v in values])
    lower = study["direction"] == "lower"
    goodness = [1 - (v - lo) / width if lower else (v - lo) / width for v in values]
    best = max(range(len(trials)), key=lambda k: (goodness[k], -trials[k]["number"]))
    rows = []
    for k, trial in enumerate(trials):
        pos = [None if c[k] != c[k] else round(c[k], 6) for c in columns]  # NaN: the condition was not met
        text = [_cell(trial["params"].get(name)) for name in space] + [f"{values[k]:.6g}"]
        rows.append({"number": trial["number"], "pos": pos, "text": text, "color": _color(goodness[k]),
                     "best": k == best, "goodness": goodness[k]})  # fmt: skip
    rows.sort(key=lambda r: (r["best"], r["goodness"]))  # the best drawn last, on top
    for row in rows:
        del row["goodness"]
    return {"study": study["name"], "metric": study["metric"], "direction": study["direction"],
            "axes": axes, "trials": rows}  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def parallel_coordinates_html(summary: dict[str, Any]) -> str:
    """The page for ``summary`` (:func:`genforge.research.sweep.study_summary`'s record)."""
    data = page_data(summary)
    heads = "".join(f"<th>{html.escape(a['name'])}</th>" for a in data["axes"])
    payload = json.dumps(data, sort_keys=True).replace("</", "<\\/")
    title = html.escape(
        f"study {data['study']}: {len(data['trials'])} complete trials, {data['metric']} "
        f"({data['direction']} is better)"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>\n<h1>{title}</h1>\n"
        "<p>Drag along an axis to keep the trials in that range (several axes combine); click an axis to "
        'clear it. <span id="count"></span></p>\n<svg id="pc"></svg>\n'
        f'<table><thead><tr><th>trial</th>{heads}</tr></thead><tbody id="rows"></tbody></table>\n'
        f'<script type="application/json" id="data">{payload}</script>\n<script>{_SCRIPT}</script>\n'
        "</body></html>\n"
    )


def save_parallel_coordinates_html(summary: dict[str, Any], path: str | Path) -> Path:
    """Write :func:`parallel_coordinates_html` to ``path`` (atomically)."""
    path = Path(path)
    atomic_write_text(path, parallel_coordinates_html(summary))
    return path
