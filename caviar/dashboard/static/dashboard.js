// caviar dashboard: polls /api/sweeps/NAME/update with what it has, draws what is new.
// The figures are built on the server by caviar.plot (the code behind `caviar report`); the
// curves figure comes as a skeleton whose traces name their trials, filled here with the points
// this page holds, so an update carries only new rows.
"use strict";

const POLL_MS = 1000;
const DRAW_POINTS = 60; // points per curve drawn (the newest always kept)
const token = new URLSearchParams(location.search).get("token") || "";
const sweeps = new Map(); // key -> state
let readOnly = true;
// plotly.js loads after this script (deferred): the first requests do not wait for it.
const plotlyReady = new Promise(resolve => {
  if (window.Plotly) resolve(); else window.addEventListener("load", resolve);
});

function api(path, options) {
  const sep = path.includes("?") ? "&" : "?";
  const headers = Object.assign({"X-Caviar-Token": token}, (options || {}).headers || {});
  return fetch(path + sep + "token=" + encodeURIComponent(token),
               Object.assign({}, options || {}, {headers}));
}

function esc(value) {
  return String(value).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}

function fmt(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" && !Number.isInteger(value)) return value.toPrecision(4);
  return String(value);
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 90) return Math.round(seconds) + " s";
  if (seconds < 5400) return Math.round(seconds / 60) + " min";
  return (seconds / 3600).toFixed(1) + " h";
}

async function start() {
  const response = await api("api/sweeps");
  if (!response.ok) { document.getElementById("status").textContent = await response.text(); return; }
  const listing = await response.json();
  readOnly = listing.read_only;
  const picker = document.getElementById("picker");
  const wanted = (new URLSearchParams(location.search).get("sweeps") || "").split(",").filter(Boolean);
  listing.sweeps.forEach((sweep, i) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = sweep.key;
    box.checked = wanted.length ? wanted.includes(sweep.key) : i < 2;
    box.addEventListener("change", () => { box.checked ? open(sweep) : close(sweep.key); });
    label.append(box, " " + sweep.name);
    picker.append(label);
    if (box.checked) open(sweep);
  });
  poll();
}

function open(sweep) {
  const root = document.createElement("section");
  root.className = "sweep";
  root.dataset.sweep = sweep.key;
  root.innerHTML = `
    <h2>${esc(sweep.name)} <span class="status">${esc(sweep.mode)} ${esc(sweep.metric)} · ${esc(sweep.uri)}</span></h2>
    <div class="progress"><progress value="0" max="1"></progress><span class="ptext"></span></div>
    <div class="controls" ${readOnly ? "hidden" : ""}>
      <input type="number" class="n" min="1" value="4" aria-label="trials to add">
      <button class="add">add trials</button>
      <button class="stopsweep danger">stop sweep</button>
      <span class="message"></span>
    </div>
    <div class="curves"></div>
    <div class="params"></div>
    <div class="tablewrap"><table><thead></thead><tbody></tbody></table></div>`;
  document.getElementById("sweeps").append(root);
  const state = {sweep, root, points: 0, rows: 0, figures: -1, generation: 0, curves: new Map(),
                 trials: new Map(), skeleton: null, figs: {}, sort: "trial_id", asc: true,
                 params: [], dirty: false, tableDirty: false};
  sweeps.set(sweep.key, state);
  layout();
  root.querySelector(".add").addEventListener("click", () => {
    const n = parseInt(root.querySelector(".n").value, 10);
    steer(state, "add", {n});
  });
  const stopSweep = root.querySelector(".stopsweep");
  stopSweep.addEventListener("click", () => {
    if (stopSweep.dataset.armed) { steer(state, "stop", {}); stopSweep.textContent = "stopping…"; return; }
    stopSweep.dataset.armed = "1";
    stopSweep.textContent = "click again to stop the sweep";
    setTimeout(() => { delete stopSweep.dataset.armed; stopSweep.textContent = "stop sweep"; }, 4000);
  });
  root.querySelector("tbody").addEventListener("click", event => {
    const button = event.target.closest("button.stop");
    if (!button) return;
    button.disabled = true;
    button.textContent = "stopping…";
    steer(state, "stop_trial", {trial_id: button.dataset.trial});
  });
  root.querySelector("thead").addEventListener("click", event => {
    const th = event.target.closest("th");
    if (!th || !th.dataset.key) return;
    state.asc = state.sort === th.dataset.key ? !state.asc : true;
    state.sort = th.dataset.key;
    drawTable(state);
  });
}

function close(key) {
  const state = sweeps.get(key);
  if (state) { state.root.remove(); sweeps.delete(key); layout(); }
}

function layout() {
  document.getElementById("sweeps").style.gridTemplateColumns =
    `repeat(${Math.max(1, sweeps.size)}, minmax(0, 1fr))`;
  for (const state of sweeps.values()) { state.dirty = true; }
}

async function steer(state, action, body) {
  const message = state.root.querySelector(".message");
  const response = await api(`api/sweeps/${encodeURIComponent(state.sweep.key)}/${action}`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  message.textContent = response.ok ? `${action.replace("_", " ")}: asked` : await response.text();
}

async function poll() {
  const started = performance.now();
  for (const state of [...sweeps.values()]) {
    try {
      const q = `points=${state.points}&rows=${state.rows}&figures=${state.figures}` +
        `&generation=${state.generation}`;
      const response = await api(`api/sweeps/${encodeURIComponent(state.sweep.key)}/update?${q}`);
      if (!response.ok) throw new Error(await response.text());
      apply(state, await response.json());
      await plotlyReady;
      draw(state);
      document.getElementById("status").textContent = "live · updated " + new Date().toLocaleTimeString();
    } catch (error) {
      document.getElementById("status").textContent = "cannot update: " + error.message;
    }
  }
  setTimeout(poll, Math.max(100, POLL_MS - (performance.now() - started)));
}

function apply(state, update) {
  if (update.kind === "snapshot") { state.curves = new Map(); state.trials = new Map(); }
  state.generation = update.generation;
  for (const [trial, [xs, ys]] of Object.entries(update.curves)) {
    let curve = state.curves.get(trial);
    if (!curve) { curve = {x: [], y: []}; state.curves.set(trial, curve); }
    for (let i = 0; i < xs.length; i++) {
      const last = curve.x.length ? curve.x[curve.x.length - 1] : -Infinity;
      if (xs[i] > last) { curve.x.push(xs[i]); curve.y.push(ys[i]); continue; }
      const at = curve.x.findIndex(v => v >= xs[i]); // a replayed iteration: replace or insert
      if (curve.x[at] === xs[i]) curve.y[at] = ys[i];
      else { curve.x.splice(at, 0, xs[i]); curve.y.splice(at, 0, ys[i]); }
    }
  }
  if (Object.keys(update.curves).length) state.dirty = true;
  for (const row of update.trials) { state.trials.set(row.trial_id, row); state.tableDirty = true; }
  state.points = update.points;
  state.rows = update.rows;
  state.progress = update.progress;
  if (update.figures) {
    state.figures = update.figures_version;
    state.skeleton = update.figures.curves;
    state.figs = update.figures;
    state.dirty = true;
    state.figsDirty = true;
  }
}

function thin(curve) {
  const n = curve.x.length;
  if (n <= DRAW_POINTS) return curve;
  const x = [], y = [];
  for (let k = 0; k < DRAW_POINTS; k++) {
    const i = Math.round(k * (n - 1) / (DRAW_POINTS - 1));
    x.push(curve.x[i]); y.push(curve.y[i]);
  }
  return {x, y};
}

function polyline(ids, curves) {
  const x = [], y = [];
  for (const id of ids) {
    const curve = curves.get(id);
    if (!curve || !curve.x.length) continue;
    const c = thin(curve);
    x.push(...c.x, null); y.push(...c.y, null);
  }
  return {x, y};
}

function draw(state) {
  const p = state.progress;
  if (p) {
    const bar = state.root.querySelector("progress");
    bar.max = Math.max(1, p.total); bar.value = p.done;
    const eta = p.finished ? (p.stopped ? "stopped" : "finished") :
      (p.eta_s !== null ? "ETA " + duration(p.eta_s) : "");
    // A finished sweep is not running: nothing would act on a request (see the README).
    state.root.querySelector(".controls").hidden = readOnly || p.finished;
    state.root.querySelector(".ptext").textContent =
      `${p.done}/${p.total} trials done, ${p.running} running${p.added ? ` (${p.added} added)` : ""} · ${eta}`;
  }
  if (state.dirty && state.skeleton) drawCurves(state);
  if (state.figsDirty) drawFigures(state);
  if (state.tableDirty) drawTable(state);
}

function drawCurves(state) {
  state.dirty = false;
  const fig = state.skeleton;
  const placed = new Set();
  const data = fig.data.map(trace => {
    const t = Object.assign({}, trace);
    const meta = trace.meta || {};
    if (meta.trials) {
      const line = polyline(meta.trials, state.curves);
      t.x = line.x; t.y = line.y;
      meta.trials.forEach(id => placed.add(id));
    } else if (meta.ends) {
      const ends = meta.ends.filter(id => state.curves.has(id));
      t.x = ends.map(id => state.curves.get(id).x.at(-1));
      t.y = ends.map(id => state.curves.get(id).y.at(-1));
      t.text = ends;
    }
    return t;
  });
  // Trials that reported since the figure was built: gray until the next build colors them.
  const fresh = [...state.curves.keys()].filter(id => !placed.has(id));
  if (fresh.length) {
    const line = polyline(fresh, state.curves);
    data.splice(0, 0, {type: "scatter", mode: "lines", x: line.x, y: line.y, hoverinfo: "skip",
      line: {color: "#999", width: 1}, opacity: 0.6, name: `new (${fresh.length})`, showlegend: false});
  }
  const drawn = [...state.curves.values()].filter(c => c.x.length).length;
  const layout = Object.assign({}, fig.layout);
  layout.title = Object.assign({}, layout.title, {text:
    `Learning curves: ${state.sweep.metric} of ${drawn} trials`});
  layout.height = 480;
  const div = state.root.querySelector(".curves");
  Plotly.react(div, data, layout, {responsive: true, displaylogo: false});
  div.dataset.curves = String(drawn);
  // For tests and benchmarks: which points are on screen, and since when (epoch milliseconds).
  state.root.dataset.points = String(state.points);
  state.root.dataset.drawnAt = String(performance.timeOrigin + performance.now());
  if (drawn && !performance.getEntriesByName("caviar-first-curves").length) {
    performance.mark("caviar-first-curves");
  }
}

function drawFigures(state) {
  state.figsDirty = false;
  const holder = state.root.querySelector(".params");
  for (const [key, fig] of Object.entries(state.figs)) {
    if (key === "curves") continue;
    let div = holder.querySelector(`[data-figure="${CSS.escape(key)}"]`);
    if (!div) {
      div = document.createElement("div");
      div.dataset.figure = key;
      holder.append(div);
    }
    const layout = Object.assign({}, fig.layout, {height: 340});
    Plotly.react(div, fig.data, layout, {responsive: true, displaylogo: false});
  }
  state.params = Object.keys(state.figs).filter(k => k.startsWith("param-")).map(k => k.slice(6));
  state.tableDirty = true;
}

function drawTable(state) {
  state.tableDirty = false;
  const best = `best_${state.sweep.metric}`;
  const columns = ["trial_id", "status", "iterations", best, ...state.params];
  const head = columns.map(c => `<th data-key="${esc(c)}" class="${c === "trial_id" ? "id" : c === "status" ? "status" : ""}">` +
    `${esc(c)}${state.sort === c ? (state.asc ? " ▲" : " ▼") : ""}</th>`).join("");
  state.root.querySelector("thead").innerHTML = `<tr>${head}${readOnly ? "" : "<th></th>"}</tr>`;
  const rows = [...state.trials.values()];
  const key = state.sort, sign = state.asc ? 1 : -1;
  rows.sort((a, b) => {
    const u = a[key], v = b[key];
    if (u === v) return 0;
    if (u === null || u === undefined) return 1;
    if (v === null || v === undefined) return -1;
    return (u < v ? -1 : 1) * sign;
  });
  const body = rows.map(row => {
    const cells = columns.map(c => `<td class="${c === "trial_id" ? "id" : c === "status" ? "status" : ""}">${esc(fmt(row[c]))}</td>`).join("");
    const live = row.status === "RUNNING" || row.status === "PENDING";
    const action = readOnly ? "" : `<td>${live ? `<button class="stop" data-trial="${esc(row.trial_id)}">stop</button>` : ""}</td>`;
    return `<tr class="${esc(row.status)}" data-trial="${esc(row.trial_id)}">${cells}${action}</tr>`;
  }).join("");
  state.root.querySelector("tbody").innerHTML = body;
}

start();
