// genforge studio: the page behaviour (no framework, no network beyond this server).
// Every piece of data is inserted as text (textContent), never as markup.
"use strict";

const BASE = document.body.dataset.base || "";
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function fmt(value) {
  return Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-3 && value !== 0) ? value.toExponential(2) : value.toPrecision(4);
}

// ---- curves -------------------------------------------------------------------------------------
function drawCurves(canvas, lines) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 800;
  const height = canvas.clientHeight || 320;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity, count = 0;
  for (const line of lines) {
    for (let i = 0; i < line.steps.length; i++) {
      x0 = Math.min(x0, line.steps[i]); x1 = Math.max(x1, line.steps[i]);
      y0 = Math.min(y0, line.values[i]); y1 = Math.max(y1, line.values[i]);
      count++;
    }
  }
  if (!count) return 0;
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y1 += 1; y0 -= 1; }
  const left = 64, right = 12, top = 12, bottom = 28;
  const sx = (x) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const sy = (y) => top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom);
  ctx.strokeStyle = "#888"; ctx.fillStyle = "#444"; ctx.lineWidth = 1; ctx.font = "12px sans-serif";
  ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, height - bottom); ctx.lineTo(width - right, height - bottom); ctx.stroke();
  ctx.fillText(fmt(y1), 4, top + 10); ctx.fillText(fmt(y0), 4, height - bottom);
  ctx.fillText(String(x0), left, height - 8);
  const last = String(x1); ctx.fillText(last, width - right - ctx.measureText(last).width, height - 8);
  lines.forEach((line, index) => {
    ctx.strokeStyle = line.colour || COLOURS[index % COLOURS.length];
    ctx.setLineDash(line.dashed ? [6, 4] : []);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (let i = 0; i < line.steps.length; i++) {
      const x = sx(line.steps[i]), y = sy(line.values[i]);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(line.label, width - right - 160, top + 14 + 14 * index);
  });
  return count;
}

function seriesLines(data, prefix, colour) {
  return Object.entries(data.series).map(([split, s]) => ({
    label: (prefix ? prefix + " " : "") + split + " (" + s.total + ")",
    steps: s.steps, values: s.values, dashed: split === "val", colour,
  }));
}

function watchRun(figure) {
  const canvas = figure.querySelector("canvas");
  const info = document.getElementById("curve-info");
  const select = document.getElementById("metric");
  const bad = document.getElementById("bad-lines");
  let source = null, latest = null;
  const connect = (metric) => {
    if (source) source.close();
    figure.dataset.metric = metric;
    const download = document.getElementById("curve-download");
    if (download) download.href = BASE + "/api/runs/" + encodeURIComponent(figure.dataset.run) + "/curve.csv?metric=" + encodeURIComponent(metric);
    source = new EventSource(BASE + "/api/runs/" + encodeURIComponent(figure.dataset.run) + "/curve?metric=" + encodeURIComponent(metric));
    source.addEventListener("curve", (e) => {
      latest = JSON.parse(e.data);
      const drawn = drawCurves(canvas, seriesLines(latest, "", null));
      const total = Object.values(latest.series).reduce((a, s) => a + s.total, 0);
      figure.dataset.points = String(total);
      figure.dataset.drawn = String(drawn);
      figure.dataset.drawnAt = String(performance.now());
      info.textContent = drawn ? latest.metric + ": " + total + " logged points, " + drawn + " drawn · " + latest.status : "no '" + latest.metric + "' logged yet · " + latest.status;
      const stepNode = document.getElementById("run-step");
      const lastSteps = Object.values(latest.series).map((s) => (s.steps.length ? s.steps[s.steps.length - 1] : 0));
      if (stepNode && lastSteps.length) stepNode.textContent = String(Math.max(Number(stepNode.textContent) || 0, ...lastSteps));
      const status = document.getElementById("run-status");
      status.textContent = latest.status; status.className = "status status-" + latest.status.replace(/ /g, "-");
      if (latest.bad_count) {
        bad.hidden = false;
        bad.textContent = latest.bad_count + " unreadable line(s) in metrics.jsonl skipped: " +
          latest.bad_lines.map((b) => "line " + b.line + " (" + b.reason + ")").join(", ");
      }
      const known = new Set(Array.from(select.options).map((o) => o.value));
      for (const name of latest.metrics) if (!known.has(name)) select.appendChild(el("option", name));
    });
    source.addEventListener("end", () => { source.close(); figure.dataset.ended = "1"; });
  };
  select.addEventListener("change", () => connect(select.value));
  window.addEventListener("resize", () => { if (latest) drawCurves(canvas, seriesLines(latest, "", null)); });
  connect(figure.dataset.metric || "loss");
}

async function compareRuns(figure) {
  const ids = figure.dataset.runs.split(",");
  const info = document.getElementById("compare-info");
  const lines = [];
  for (const [index, id] of ids.entries()) {
    const response = await fetch(BASE + "/api/runs/" + encodeURIComponent(id) + "/curve.json?metric=loss");
    const data = await response.json();
    if (!response.ok) { info.textContent = data.error.message; return; }
    lines.push(...seriesLines(data, index === 0 ? "A" : "B", COLOURS[index]));
  }
  const canvas = figure.querySelector("canvas");
  const drawn = drawCurves(canvas, lines);
  figure.dataset.drawn = String(drawn);
  info.textContent = drawn ? "loss of A (blue) and B (red), validation dashed" : "neither run logged a loss yet";
  window.addEventListener("resize", () => drawCurves(canvas, lines));
}

// ---- runs list: live status -----------------------------------------------------------------------
function liveRuns(table) {
  const params = new URLSearchParams({ sort: table.dataset.sort, order: table.dataset.order, page: table.dataset.page, per_page: table.dataset.perPage });
  const refresh = async () => {
    const response = await fetch(BASE + "/api/runs?" + params);
    if (!response.ok) return;
    const data = await response.json();
    for (const run of data.runs) {
      const row = table.querySelector('[role="row"][data-run="' + CSS.escape(run.id) + '"]');
      if (!row) continue;
      row.querySelector('[data-field="step"]').textContent = String(run.step);
      const badge = row.querySelector('[data-field="status"] .status');
      badge.textContent = run.status; badge.className = "status status-" + run.status.replace(/ /g, "-");
    }
  };
  setInterval(refresh, 3000);
}

// ---- samples --------------------------------------------------------------------------------------
function sampleSlider(box) {
  const files = box.dataset.files.split(",");
  const slider = document.getElementById("sample-slider");
  const label = document.getElementById("sample-step");
  const image = document.getElementById("sample-image");
  const text = document.getElementById("sample-text");
  const run = document.getElementById("curve").dataset.run;
  const show = async () => {
    const name = files[Number(slider.value)];
    label.textContent = String(Number(name.match(/step-(\d+)/)[1]));
    const url = BASE + "/runs/" + encodeURIComponent(run) + "/samples/" + encodeURIComponent(name);
    if (image) image.src = url;
    if (text) text.textContent = await (await fetch(url)).text();
  };
  slider.addEventListener("input", show);
  if (text) show();
}

function sampleForm(form) {
  const status = document.getElementById("sample-status");
  const image = document.getElementById("sample-result");
  const text = document.getElementById("sample-result-text");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = new FormData(form);
    const body = { n: Number(values.get("n")), seed: Number(values.get("seed")), temperature: Number(values.get("temperature")) };
    if (values.get("label")) body.label = Number(values.get("label"));
    status.textContent = "drawing…";
    const response = await fetch(BASE + "/api/runs/" + encodeURIComponent(form.dataset.run) + "/sample", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) { status.textContent = await errorText(response); return; }
    if ((response.headers.get("Content-Type") || "").startsWith("image/")) {
      if (image.src) URL.revokeObjectURL(image.src);
      image.src = URL.createObjectURL(await response.blob());
      image.hidden = false; text.hidden = true;
    } else {
      text.textContent = await response.text(); text.hidden = false; image.hidden = true;
    }
    status.textContent = "drawn with seed " + body.seed + ", temperature " + body.temperature;
  });
}

async function errorText(response) {
  try {
    const data = await response.json();
    if (data.error) return data.error.message;
    if (Array.isArray(data.detail)) return data.detail.map((d) => d.loc.slice(-1)[0] + ": " + d.msg).join("; ");
  } catch (err) { /* not JSON */ }
  return "request failed with status " + response.status;
}

// ---- chat -----------------------------------------------------------------------------------------
async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      yield [name, JSON.parse(data)];
    }
  }
}

function badge(verdict) {
  const box = el("div", null, "badges");
  const main = el("span", verdict.stage + ": " + verdict.action, "badge badge-" + verdict.action);
  main.dataset.action = verdict.action;
  box.appendChild(main);
  for (const rail of verdict.rails) {
    const item = el("span", rail.rail + " " + rail.action + " · score " + rail.score + " · " + rail.latency_ms + " ms", "badge badge-" + rail.action);
    item.dataset.rail = rail.rail;
    box.appendChild(item);
  }
  return box;
}

function chat(form) {
  const log = document.getElementById("chat-log");
  const message = document.getElementById("chat-message");
  message.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = new FormData(form);
    const text = String(values.get("message"));
    log.appendChild(el("li", text, "user"));
    const turn = el("li", null, "assistant");
    const answer = el("p", "", "answer");
    turn.appendChild(answer); log.appendChild(turn);
    message.value = "";
    const response = await fetch(BASE + "/api/chat", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: values.get("model"), message: text }),
    });
    if (!response.ok) { answer.textContent = await errorText(response); answer.className = "error"; return; }
    for await (const [name, data] of sseEvents(response)) {
      if (name === "guard") turn.insertBefore(badge(data), answer);
      else if (name === "token") answer.textContent += data.text;
      else if (name === "citations") {
        const list = el("ol", null, "citations");
        for (const c of data.citations) {
          const item = el("li"); item.value = c.number;
          const details = el("details"); details.appendChild(el("summary", "[" + c.number + "] " + (c.title || c.source)));
          details.appendChild(el("p", c.source + " · characters " + c.start + "–" + c.end, "meta"));
          details.appendChild(el("blockquote", c.text));
          item.appendChild(details); list.appendChild(item);
        }
        turn.appendChild(list);
      } else if (name === "done") {
        if (data.answer !== undefined) answer.textContent = data.answer; // blocked or withheld: replaces what streamed
        turn.dataset.done = data.blocked ? "blocked" : "ok";
        if (data.timings_ms) {
          const total = data.timings_ms.total ?? Object.values(data.timings_ms).reduce((a, b) => a + b, 0);
          turn.appendChild(el("p", "total " + total.toFixed(1) + " ms", "meta"));
        }
      } else if (name === "error") {
        turn.appendChild(el("p", data.message, "error")); turn.dataset.done = "error";
      }
    }
  });
}

function neighbours(form) {
  const list = document.getElementById("neighbours");
  const status = document.getElementById("neighbours-status");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = new FormData(form);
    status.textContent = "searching…";
    const response = await fetch(BASE + "/api/neighbours?" + new URLSearchParams({ text: values.get("text"), k: values.get("k") }));
    if (!response.ok) { status.textContent = await errorText(response); return; }
    const data = await response.json();
    list.replaceChildren(...data.neighbours.map((n) => {
      const item = el("li");
      item.appendChild(el("span", n.score_kind + " " + n.score.toFixed(3) + " · " + n.source, "meta"));
      item.appendChild(el("p", n.text));
      return item;
    }));
    status.textContent = data.neighbours.length + " nearest chunks";
  });
}

function serverPanel(table) {
  const body = table.querySelector("tbody");
  const refresh = async () => {
    const response = await fetch(BASE + "/api/server");
    if (!response.ok) return;
    const data = await response.json();
    body.replaceChildren(...Object.entries(data.server).map(([name, value]) => {
      const row = el("tr");
      row.appendChild(el("td", name));
      row.appendChild(el("td", typeof value === "number" ? fmt(value) : value, "num"));
      return row;
    }));
    table.dataset.updated = String(Date.now());
  };
  refresh();
  setInterval(refresh, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  const find = (id) => document.getElementById(id);
  if (find("runs")) liveRuns(find("runs"));
  if (find("curve")) watchRun(find("curve"));
  if (find("samples")) sampleSlider(find("samples"));
  if (find("compare-curve")) compareRuns(find("compare-curve"));
  if (find("sample-form")) sampleForm(find("sample-form"));
  if (find("chat-form")) chat(find("chat-form"));
  if (find("neighbours-form")) neighbours(find("neighbours-form"));
  if (find("server-stats")) serverPanel(find("server-stats"));
});
