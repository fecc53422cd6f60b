// Long file: the page's one script, in sections (token, cameras, workers, events, objects) sharing its socket and its state; its pure drawing helpers are overlay.js.
//
// framesupplier's dashboard: plain ES module, no build step. One WebSocket
// (/api/ws, protocol in src/http/dashboard-socket.ts) brings every camera's
// frames, detections, stats and events; controls are the HTTP API's calls.
// Latest-frame here too: a camera's frame arriving while the one before is
// still being decoded replaces it, and the server gets an ack per frame drawn.
// Tracked objects (their boxes with ids) and the camera's zones and masks are
// drawn over the live view, and with the header's toggles the detections'
// boxes (on unless turned off) and where the camera's motion detection saw
// movement (off unless turned on; the regions come with each frame); the objects list shows their events with
// snapshots. Nothing from the server is ever parsed as HTML: text goes in by
// textContent or text nodes (el() below), so a label is shown as written.
import uPlot from '/vendor/uplot.js';
import { clockTime, insertionIndex, labelPoint, overlayOf, scaleBox, scalePolygon, shortId, trackCaption, zoneHue } from '/dashboard/overlay.js';
import { mountEditor } from '/dashboard/editor.js';
import { describeSilence, showSilence } from '/dashboard/alarms.js';
import { mountFalls } from '/dashboard/falls.js';
import { mountStaleness } from '/dashboard/staleness.js';

const GRID_HEIGHT = 288;
const PLOT_SECONDS = 300;
const BOX_MAX_AGE_MS = 3000;
const PERSON_END_MS = 10000;
const MAX_OBJECT_ROWS = 50;
const TRACK_COLOUR = '#ff9100';
const MOTION_COLOUR = '#ff4081';
/** The pose skeleton (pairs of keypoint indexes): the server's, from the socket's `ready`. */
let skeleton = [];

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};

// What the page reports (the browser tests and benchmark H1 read it).
const report = { framesDrawn: 0, boxesDrawn: 0, bytes: 0, latencies: [], perCamera: {}, lastBoxes: {}, lastTracks: {}, lastZones: {}, lastMotion: {} };
window.__framesupplier = report;

// ---------------------------------------------------------------- overlay toggles

/** What is drawn over the live view beside zones and masks: detections' boxes (default on), motion regions (default off); kept per browser. */
const overlays = {
  boxes: localStorage.getItem('framesupplier-overlay-boxes') !== 'off',
  motion: localStorage.getItem('framesupplier-overlay-motion') === 'on',
};
for (const name of Object.keys(overlays)) {
  const input = $(`${name}-toggle`);
  input.checked = overlays[name];
  input.addEventListener('change', () => {
    overlays[name] = input.checked;
    localStorage.setItem(`framesupplier-overlay-${name}`, input.checked ? 'on' : 'off');
  });
}

// ---------------------------------------------------------------- theme

const storedTheme = localStorage.getItem('framesupplier-theme');
document.documentElement.dataset.theme = storedTheme ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
$('theme-button').addEventListener('click', () => {
  const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  localStorage.setItem('framesupplier-theme', next);
});

// ---------------------------------------------------------------- token

// A token in the address's fragment (#token=…, as the server prints it) never reaches a server log; keep it for this tab only.
const hashToken = new URLSearchParams(location.hash.slice(1)).get('token');
if (hashToken) {
  sessionStorage.setItem('framesupplier-token', hashToken);
  // window.history by name: a module-level binding must never shadow it (this line runs first).
  window.history.replaceState(null, '', location.pathname + location.search);
}
const token = () => sessionStorage.getItem('framesupplier-token');

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = message === '';
}

/** Asks for the token; resolves true once one was given. */
function askToken() {
  const dialog = $('token-dialog');
  const input = $('token-input');
  input.value = '';
  return new Promise((resolve) => {
    const done = (ok) => {
      dialog.close();
      $('token-ok').onclick = null;
      $('token-cancel').onclick = null;
      resolve(ok);
    };
    $('token-ok').onclick = (e) => {
      e.preventDefault();
      if (input.value.trim() === '') return;
      sessionStorage.setItem('framesupplier-token', input.value.trim());
      done(true);
    };
    $('token-cancel').onclick = () => done(false);
    dialog.showModal();
    input.focus();
  });
}
$('token-button').addEventListener('click', async () => {
  if (await askToken()) reconnect();
});

/** The Authorization header when there is a token (reads beyond loopback need it; an <img src> could not send it). */
function authHeaders() {
  const headers = {};
  if (token()) headers.authorization = `Bearer ${token()}`;
  return headers;
}

async function api(method, path) {
  const response = await fetch(path, { method, headers: authHeaders() });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = body.error ?? { code: `HTTP ${response.status}`, message: response.statusText };
    throw Object.assign(new Error(error.message), { code: error.code, status: response.status });
  }
  return body;
}

/** A control: asks for the token when there is none or it was refused; a refused call changes nothing. */
async function control(path, what) {
  if (!token() && !(await askToken())) {
    showError(`${what}: needs the API token`);
    return;
  }
  try {
    await api('POST', path);
    showError('');
  } catch (error) {
    showError(`${what}: ${error.code}: ${error.message}`);
    if (error.code === 'ERR_HTTP_UNAUTHORIZED') sessionStorage.removeItem('framesupplier-token');
  }
}

// ---------------------------------------------------------------- cameras: tiles, frames, boxes

/** camera id → { tile, canvas, badge, fps, pending, decoding, detections: Map(worker → { boxes, tracks, at }), overlay: { zones, masks } } */
const cameras = new Map();
let detailCamera = null;

function cameraView(id) {
  let view = cameras.get(id);
  if (view) return view;
  const canvas = el('canvas', { width: '384', height: '288', 'data-camera': id, 'data-frames': '0', 'data-boxes': '0' });
  const badge = el('span', { class: 'badge' }, '…');
  const fps = el('span', { class: 'muted' });
  // A private camera's frames wait for its detector (ADR 0165): the tile says how far behind live it is.
  const held = el('span', { class: 'muted', 'data-held': '' });
  const tile = el(
    'article',
    { class: 'tile', 'data-camera': id, onclick: () => openDetail(id) },
    canvas,
    el('div', { class: 'caption' }, el('span', { class: 'name' }, id), badge, fps, held),
  );
  $('grid').append(tile);
  queueMicrotask(() => falls.render()); // an alert of a camera whose tile comes later is drawn over it
  view = { id, tile, canvas, badge, fps, held, pending: null, decoding: false, detections: new Map(), frames: 0, overlay: { zones: [], masks: [] } };
  cameras.set(id, view);
  void loadOverlay(view);
  return view;
}

function dropCamera(id) {
  const view = cameras.get(id);
  if (!view) return;
  view.tile.remove();
  cameras.delete(id);
  if (detailCamera === id) closeDetail();
}

// fall and person-down alerts over the live views until acknowledged (falls.js, ADR 0132)
const falls = mountFalls({
  el,
  list: $('falls'),
  answered: $('falls-answered'),
  detail: $('detail'),
  detailCamera: () => detailCamera,
  tileOf: (id) => cameras.get(id)?.tile ?? null,
  authHeaders: () => authHeaders(),
  askToken: () => askToken(),
  hasToken: () => Boolean(token()),
  showError: (message) => showError(message),
  report,
});

// the zone, mask and line editor over the detail view (editor.js)
const editor = mountEditor({ canvas: $('detail-canvas'), authHeaders: () => authHeaders() });
editor.close();

function openDetail(id) {
  detailCamera = id;
  editor.open(id);
  $('detail').hidden = false;
  $('grid').hidden = true;
  $('detail-title').textContent = id;
  falls.render();
  sendWatch();
}

function closeDetail() {
  detailCamera = null;
  editor.close();
  $('detail').hidden = true;
  $('grid').hidden = false;
  sendWatch();
}
$('detail-close').addEventListener('click', closeDetail);

/** The camera's zones and masks, from its config (the system's public call GET /api/cameras/:id); none until it answers. */
async function loadOverlay(view) {
  try {
    // the areas it runs with now: the config's, or the editor's latest
    view.overlay = overlayOf(await api('GET', `/api/cameras/${encodeURIComponent(view.id)}/areas`));
  } catch {
    // no token yet, or the camera went: drawn without zones until the next (re)connect or change
  }
}

/** Masks shaded, zones outlined and named, under the boxes. */
function drawOverlay(ctx, view, width, height) {
  const drawn = { zones: [], masks: 0 };
  ctx.save();
  ctx.lineWidth = Math.max(1.5, height / 240);
  for (const polygon of view.overlay.masks) {
    const points = scalePolygon(polygon, width, height);
    if (!points) continue;
    ctx.beginPath();
    points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    ctx.closePath();
    ctx.fillStyle = 'rgba(0, 0, 0, 0.45)';
    ctx.fill();
    ctx.setLineDash([4, 4]);
    ctx.strokeStyle = 'rgba(255, 255, 255, 0.7)';
    ctx.stroke();
    ctx.setLineDash([]);
    drawn.masks++;
  }
  ctx.font = `${Math.max(11, Math.round(height / 32))}px sans-serif`;
  view.overlay.zones.forEach(({ name, polygon }, i) => {
    const points = scalePolygon(polygon, width, height);
    if (!points) return;
    const hue = zoneHue(i);
    ctx.beginPath();
    points.forEach(([x, y], j) => (j === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    ctx.closePath();
    ctx.fillStyle = `hsl(${hue} 90% 55% / 0.15)`;
    ctx.fill();
    ctx.strokeStyle = `hsl(${hue} 90% 55%)`;
    ctx.stroke();
    const [x, y] = labelPoint(points);
    ctx.fillStyle = `hsl(${hue} 90% 65%)`;
    ctx.fillText(name, x + 3, y + Math.max(12, Math.round(height / 30)));
    drawn.zones.push(name);
  });
  ctx.restore();
  return drawn;
}

/** A tracking worker's objects: box, label, id and score. */
function drawTracks(ctx, tracks, width, height, drawnTracks) {
  ctx.strokeStyle = TRACK_COLOUR;
  ctx.fillStyle = TRACK_COLOUR;
  for (const t of tracks) {
    const r = scaleBox(t.box, width, height);
    if (!r) continue;
    ctx.strokeRect(r.x, r.y, r.w, r.h);
    ctx.fillText(trackCaption(t), r.x + 2, Math.max(14, r.y - 4));
    drawnTracks.push({ id: t.id, label: t.label, box: t.box, zones: t.zones });
  }
}

function drawBoxes(ctx, view, width, height) {
  const now = Date.now();
  let drawn = 0;
  const boxesDrawn = [];
  const tracksDrawn = [];
  const overlay = drawOverlay(ctx, view, width, height);
  report.lastZones[view.id] = { zones: overlay.zones, masks: overlay.masks, width, height };
  view.canvas.dataset.zones = overlay.zones.join(' ');
  if (!overlays.boxes) {
    view.canvas.dataset.tracks = '';
    return 0;
  }
  const stroke = Math.max(2, height / 200);
  ctx.lineWidth = stroke;
  ctx.font = `${Math.max(12, Math.round(height / 28))}px sans-serif`;
  for (const { boxes, tracks, at } of view.detections.values()) {
    if (now - at > BOX_MAX_AGE_MS) continue;
    // a tracking worker's boxes are its objects (confirmed, with ids), not its raw detections
    if (tracks) {
      drawTracks(ctx, tracks, width, height, tracksDrawn);
      continue;
    }
    for (const b of boxes) {
      const [x1, y1, x2, y2] = [b.bbox[0] * width, b.bbox[1] * height, b.bbox[2] * width, b.bbox[3] * height];
      ctx.strokeStyle = '#00e676';
      ctx.fillStyle = '#00e676';
      ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
      ctx.fillText(b.confidence === null ? b.label : `${b.label} ${b.confidence.toFixed(2)}`, x1 + 2, Math.max(14, y1 - 4));
      drawn++;
      boxesDrawn.push(b.bbox);
      if (!b.keypoints) continue;
      ctx.strokeStyle = '#ffea00';
      for (const [a, c] of skeleton) {
        const p = b.keypoints[a];
        const q = b.keypoints[c];
        if (!p || !q || p[2] < 0.3 || q[2] < 0.3) continue;
        ctx.beginPath();
        ctx.moveTo(p[0] * width, p[1] * height);
        ctx.lineTo(q[0] * width, q[1] * height);
        ctx.stroke();
      }
    }
  }
  if (drawn > 0) report.lastBoxes[view.id] = { bboxes: boxesDrawn, width, height, at: Date.now() };
  if (tracksDrawn.length > 0) report.lastTracks[view.id] = { tracks: tracksDrawn, width, height, at: Date.now() };
  view.canvas.dataset.tracks = tracksDrawn.map((t) => t.id).join(' ');
  return drawn + tracksDrawn.length;
}

/** Where the camera's motion detection saw movement on its last frame measured: dashed boxes, lightly filled. */
function drawMotion(ctx, view, motion, width, height) {
  const drawn = [];
  ctx.save();
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = Math.max(2, height / 200);
  ctx.strokeStyle = MOTION_COLOUR;
  ctx.fillStyle = 'rgba(255, 64, 129, 0.12)';
  for (const box of Array.isArray(motion?.regions) ? motion.regions : []) {
    const r = scaleBox(box, width, height);
    if (!r) continue;
    ctx.fillRect(r.x, r.y, r.w, r.h);
    ctx.strokeRect(r.x, r.y, r.w, r.h);
    drawn.push(box);
  }
  ctx.restore();
  view.canvas.dataset.motionRegions = String(drawn.length);
  report.lastMotion[view.id] = { regions: drawn, state: motion?.state ?? null, share: motion?.share ?? 0, width, height, at: Date.now() };
  return drawn.length;
}

async function drawFrame(view, message) {
  view.decoding = true;
  try {
    const bitmap = await createImageBitmap(message.jpeg);
    const canvas = detailCamera === view.id ? $('detail-canvas') : view.canvas;
    if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
    }
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const boxes = drawBoxes(ctx, view, canvas.width, canvas.height);
    if (overlays.motion) drawMotion(ctx, view, message.header.motion, canvas.width, canvas.height);
    else view.canvas.dataset.motionRegions = '';
    view.frames++;
    report.framesDrawn++;
    report.boxesDrawn += boxes;
    const latency = Date.now() - message.header.wallTime;
    report.latencies.push(latency);
    if (report.latencies.length > 10000) report.latencies.splice(0, 5000);
    report.perCamera[view.id] = { frames: view.frames, lastSeq: message.header.seq, boxes: (report.perCamera[view.id]?.boxes ?? 0) + boxes };
    const heldMs = message.header.heldMs ?? 0;
    view.held.textContent = heldMs > 0 ? `private: ${heldMs} ms behind live` : '';
    view.held.dataset.held = heldMs > 0 ? String(heldMs) : '';
    view.canvas.dataset.frames = String(view.frames);
    view.canvas.dataset.boxes = String(report.perCamera[view.id].boxes);
  } catch {
    // a frame that does not decode is skipped
  } finally {
    view.decoding = false;
    send({ type: 'ack', camera: view.id });
  }
  const next = view.pending;
  view.pending = null;
  if (next) void drawFrame(view, next);
}

function onFrame(data) {
  report.bytes += data.byteLength;
  const length = new DataView(data).getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 4, length)));
  staleness.picture(header.camera);
  const view = cameras.get(header.camera);
  if (!view) return;
  const message = { header, jpeg: new Blob([new Uint8Array(data, 4 + length)], { type: 'image/jpeg' }) };
  if (view.decoding)
    view.pending = message; // the newer replaces any waiting one
  else void drawFrame(view, message);
}

// ---------------------------------------------------------------- workers: table and plots

const rowsByKey = new Map();
const plotHistory = { t: [], series: new Map() }; // key → { age: [], fps: [] }

function workerRows(stats) {
  const rows = [];
  for (const c of Object.values(stats.cameras)) for (const w of Object.values(c.workers)) rows.push({ key: `${c.id}/${w.id}`, camera: c.id, w });
  for (const s of Object.values(stats.shared)) rows.push({ key: `shared/${s.id}`, camera: null, w: s });
  return rows;
}

function workerControls(camera, worker) {
  const base =
    camera === null ? `/api/shared/${encodeURIComponent(worker)}` : `/api/cameras/${encodeURIComponent(camera)}/workers/${encodeURIComponent(worker)}`;
  const name = camera === null ? `shared ${worker}` : `${camera}/${worker}`;
  return ['restart', 'enable', 'disable'].map((action) =>
    el('button', { type: 'button', 'data-action': action, 'data-worker': name, onclick: () => control(`${base}/${action}`, `${action} ${name}`) }, action),
  );
}

const fmt = (v, digits = 1) => (v === null || v === undefined ? '–' : typeof v === 'number' ? v.toFixed(digits) : String(v));

const FIELDS = [
  'worker',
  'criticality',
  'state',
  'fps',
  'delivered',
  'drops',
  'consecutive-drops',
  'taken',
  'skipped',
  'asks',
  'gate',
  'age',
  'result-age',
  'idle',
  'restarts',
  'alert',
  'objective',
];
const HOP_NAMES = ['decoded', 'converted', 'delivered', 'taken', 'result', 'published', 'sent'];

/** "sent 5, answered 4 (1 stale), 2 errors; skipped 46: worker-rate 40, busy 6; pending 2 (waited p50 480 ms, p99 1500 ms); tokens 650 (endpoint 650 last hour)". */
function asksText(asks) {
  const skips = Object.entries(asks.skipped).filter(([, n]) => n > 0);
  const skipped = skips.reduce((sum, [, n]) => sum + n, 0);
  return (
    `sent ${asks.sent}, answered ${asks.answered}` +
    (asks.stale > 0 ? ` (${asks.stale} stale)` : '') +
    (asks.errors > 0 ? `, ${asks.errors} errors` : '') +
    (skipped > 0 ? `; skipped ${skipped}: ${skips.map(([reason, n]) => `${reason} ${n}`).join(', ')}` : '') +
    // Objects waiting for the model and how long they waited (ADR 0067); tokens its answers counted.
    (asks.pending
      ? `; pending ${asks.pending.now}${asks.pending.waitMs.p50 === null ? '' : ` (waited p50 ${Math.round(asks.pending.waitMs.p50)} ms, p99 ${Math.round(asks.pending.waitMs.p99)} ms)`}`
      : '') +
    (asks.tokens
      ? `; tokens ${asks.tokens.prompt + asks.tokens.completion} (endpoint ${asks.tokens.endpoint.lastHour} last hour${asks.tokens.endpoint.perHour === null ? '' : ` of ${asks.tokens.endpoint.perHour}`})`
      : '')
  );
}

/** A motion-gated worker (ADR 0066): "runs 12 (first 1, onset 1, motion 10); still 40 (77 % saved); onset → detection 120 ms". */
function gateText(gate) {
  const runs = Object.entries(gate.runs).filter(([, n]) => n > 0);
  const total = runs.reduce((sum, [, n]) => sum + n, 0);
  const latency = gate.onsetLatencyMs.p50 === null ? '' : `; onset → detection ${fmt(gate.onsetLatencyMs.p50, 0)} ms`;
  // Regions (ADR 0069): frames sent as crops, crops a frame, whole-frame fallbacks.
  const rg = gate.regions;
  const regions = rg ? `; crops ${rg.crops} on ${rg.frames} frame(s) (${fmt(rg.cropsPerFrame, 1)} a frame), ${rg.wholeFallbacks} whole fallback(s)` : '';
  return `runs ${total} (${runs.map(([r, n]) => `${r} ${n}`).join(', ')}); still ${gate.still} (${Math.round(gate.savedShare * 100)} % saved)${latency}${regions}`;
}

/** Capture → result p50 (the age of what a user acts on), and one click away the age at every hop (ADR 0041). */
function resultAgeCell(td, w, cameraHops) {
  let details = td.firstElementChild;
  if (!details) {
    details = el('details', {}, el('summary'), el('div', { class: 'hops' }));
    td.append(details);
  }
  const result = w.hops?.result;
  const summary = result ? fmt(result.p50Ms, 0) : '–';
  if (details.firstElementChild.textContent !== summary) details.firstElementChild.textContent = summary;
  const hops = { ...(cameraHops ?? {}), ...(w.hops ?? {}) };
  const text = HOP_NAMES.filter((h) => hops[h])
    .map((h) => `${h} ${fmt(hops[h].p50Ms, 0)} / ${fmt(hops[h].p99Ms, 0)}`)
    .join(' · ');
  const body = text ? `age at each hop, p50 / p99 ms: ${text}` : 'no frame yet';
  if (details.lastElementChild.textContent !== body) details.lastElementChild.textContent = body;
}

function renderWorkers(stats) {
  const tbody = $('workers').tBodies[0];
  const seen = new Set();
  for (const { key, camera, w } of workerRows(stats)) {
    seen.add(key);
    let row = rowsByKey.get(key);
    if (!row) {
      row = el('tr', { 'data-worker': key });
      for (let i = 0; i < FIELDS.length; i++) row.append(el('td', { 'data-field': FIELDS[i] }));
      row.append(el('td', { class: 'controls' }, ...workerControls(camera, w.id)));
      tbody.append(row);
      rowsByKey.set(key, row);
    }
    const state = !w.enabled ? 'disabled' : w.waitingForModel ? 'wait' : w.state;
    const objective = w.objective ?? null;
    const behind = objective !== null && objective.met === false;
    const cells = {
      worker: key,
      criticality: w.criticality,
      state,
      fps: fmt(w.fps),
      delivered: w.delivered,
      drops: w.drops,
      'consecutive-drops': w.consecutiveDrops ?? 0,
      // A model worker's model: frames it ran on, and frames delivered it never ran on (ADR 0040); fps and age are then the taken frames'.
      taken: w.modelFrames ? w.modelFrames.taken : '-',
      skipped: w.modelFrames ? w.modelFrames.skipped : '-',
      // A vlm worker's asks (ADR 0055): requests sent and answered, and triggers let pass without one, by reason.
      asks: w.asks ? asksText(w.asks) : '-',
      // Gated by motion (ADR 0066): runs by reason, and the frames it did not run on because nothing moved.
      gate: w.gate ? gateText(w.gate) : '-',
      // p50s both, of the same recent frames (their header's title says so): read before result, so never older than it.
      age: fmt(w.hops?.delivered?.p50Ms, 0),
      idle: w.idle ? 'idle' : '',
      restarts: w.restarts,
      alert: [behind ? 'BEHIND' : '', w.dropAlert ? 'DROPS' : ''].filter(Boolean).join(' '),
      // The objective missed: why, from the figures, and what would fix it (ADR 0042).
      objective: behind ? `${objective.reason}${objective.fix.length > 0 ? ` → ${objective.fix.join(', ')}` : ''}` : '',
    };
    FIELDS.forEach((field, i) => {
      const td = row.cells[i];
      if (field === 'result-age') {
        resultAgeCell(td, w, camera === null ? null : stats.cameras[camera]?.capture?.hops);
        return;
      }
      const text = String(cells[field]);
      if (td.textContent !== text) td.textContent = text;
    });
    row.cells[2].className = `badge-cell ${state}`;
    row.cells[FIELDS.indexOf('alert')].className = behind || w.dropAlert ? 'alert' : '';
    row.classList.toggle('behind', behind);
  }
  for (const [key, row] of rowsByKey) {
    if (seen.has(key)) continue;
    row.remove();
    rowsByKey.delete(key);
  }
}

let agePlot = null;
let fpsPlot = null;
let plotKeys = '';

function makePlot(target, label, keys) {
  target.replaceChildren();
  const width = Math.max(280, target.clientWidth || 400);
  return new uPlot(
    {
      width,
      height: 200,
      scales: { x: { time: true } },
      series: [{}, ...keys.map((k, i) => ({ label: k, stroke: `hsl(${(i * 67) % 360} 70% 50%)`, width: 1.5 }))],
      axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor', label }],
    },
    [[], ...keys.map(() => [])],
    target,
  );
}

function updatePlots(stats) {
  const now = Date.now() / 1000;
  const rows = workerRows(stats);
  plotHistory.t.push(now);
  for (const { key, w } of rows) {
    if (!plotHistory.series.has(key))
      plotHistory.series.set(key, { age: plotHistory.t.slice(0, -1).map(() => null), fps: plotHistory.t.slice(0, -1).map(() => null) });
    const s = plotHistory.series.get(key);
    // Capture → result p50 (what a user acts on) for a worker with results; else its read age p50: a p50 either way.
    s.age.push(w.hops?.result?.p50Ms ?? w.hops?.delivered?.p50Ms ?? null);
    s.fps.push(w.fps);
  }
  for (const [key, s] of plotHistory.series) {
    if (s.age.length < plotHistory.t.length) {
      s.age.push(null);
      s.fps.push(null);
    }
    if (!rows.some((r) => r.key === key) && s.age.every((v) => v === null)) plotHistory.series.delete(key);
  }
  while (plotHistory.t.length > 0 && now - plotHistory.t[0] > PLOT_SECONDS) {
    plotHistory.t.shift();
    for (const s of plotHistory.series.values()) {
      s.age.shift();
      s.fps.shift();
    }
  }
  const keys = [...plotHistory.series.keys()];
  if (keys.join('\n') !== plotKeys) {
    plotKeys = keys.join('\n');
    agePlot?.destroy();
    fpsPlot?.destroy();
    agePlot = makePlot($('plot-age'), 'ms', keys);
    fpsPlot = makePlot($('plot-fps'), 'fps', keys);
  }
  // A system without workers has no plot yet (none is made for no series): nothing to draw.
  agePlot?.setData([plotHistory.t, ...keys.map((k) => plotHistory.series.get(k).age)]);
  fpsPlot?.setData([plotHistory.t, ...keys.map((k) => plotHistory.series.get(k).fps)]);
}
addEventListener('resize', () => {
  for (const [plot, target] of [
    [agePlot, $('plot-age')],
    [fpsPlot, $('plot-fps')],
  ])
    plot?.setSize({ width: Math.max(280, target.clientWidth), height: 200 });
});

/** What the camera's decoder decodes (capture.decode.mode), as the camera row says it. */
const DECODE_LABEL = { all: 'all frames', nonref: 'reference frames', keyframes: 'keyframes only', hold: 'held, decoded on demand' };

/** A camera with several streams (ADR 0053): each stream's cost, and which stream each worker reads and why. */
function streamsText(c) {
  if (!c.streams) return { text: '', title: '' };
  const lines = Object.entries(c.streams).map(([name, s]) => {
    if (!s) return `${name}: off`;
    const cpu = s.costs.cpuMsPerDecodedFrame == null ? '' : `, ${s.costs.cpuMsPerDecodedFrame.toFixed(2)} ms CPU a decoded frame`;
    const size = s.width == null ? '' : ` ${s.width}×${s.height}`;
    return `${name}${size} ${s.state}, ${DECODE_LABEL[s.decode?.mode] ?? s.decode?.mode ?? '?'}: ${s.costs.framesReceived} received, ${s.costs.framesDecoded} decoded, ${s.costs.framesUsed} used${cpu}, ${Math.round(s.costs.packetBufferBytes / 1024)} KiB held`;
  });
  const workers = Object.entries(c.workerStreams ?? {}).map(([id, w]) => `${id} reads ${w.stream}: ${w.reason}`);
  return { text: ` · ${Object.keys(c.streams).length} streams`, title: `\n${[...lines, ...workers].join('\n')}` };
}

const MiB = 1024 * 1024;

/**
 * The memory line (ADR 0068): the process tree's RSS and what it takes from the machine (PSS), the JS heap,
 * malloc in use against its arenas, the cameras' buffers.
 */
function memoryText(m) {
  if (!m) return { text: '', title: '' };
  const mb = (bytes) => `${Math.round(bytes / MiB)} MB`;
  const pss = m.tree?.pssBytes == null ? '' : ` (takes ${mb(m.tree.pssBytes)})`;
  const tree = m.tree ? `${mb(m.tree.rssBytes)}${pss} in ${m.tree.processes} processes` : `${mb(m.rss)}`;
  const malloc = m.malloc ? `, malloc ${mb(m.malloc.inUseBytes)} in use of ${mb(m.malloc.arenaBytes + m.malloc.mmappedBytes)}` : '';
  const cameras = Object.entries(m.buffers?.cameras ?? {}).map(([id, b]) => `${id}: ${mb(b.framePool)} frame pool, ${mb(b.packetBuffer)} packets held`);
  return {
    text: `${tree} · heap ${mb(m.heap?.usedBytes ?? m.heapUsed)}${malloc} · buffers ${mb(m.buffers?.totalBytes ?? 0)}`,
    title: [`this process ${mb(m.rss)}, external ${mb(m.external)}`, ...cameras].join('\n'),
  };
}

function onStats(stats) {
  $('system-state').textContent = stats.state;
  $('system-state').className = `badge ${stats.state}`;
  $('uptime').textContent = `up ${Math.round(stats.uptimeS)} s`;
  const memory = memoryText(stats.memory);
  $('memory').textContent = memory.text;
  $('memory').title = memory.title;
  let changed = false;
  for (const c of Object.values(stats.cameras)) {
    if (!cameras.has(c.id)) changed = true;
    const view = cameraView(c.id);
    const error = c.state === 'backoff' && c.capture?.lastError ? ` ${c.capture.lastError.code}` : '';
    view.badge.textContent = `${c.state}${error}`;
    view.badge.className = `badge ${c.state}`;
    view.badge.title = c.capture?.lastError?.message ?? '';
    const decode = c.capture?.decode;
    const streams = streamsText(c);
    view.fps.textContent = `${c.capture?.fps == null ? '' : `${c.capture.fps.toFixed(1)} fps`}${decode ? ` · ${DECODE_LABEL[decode.mode] ?? decode.mode}` : ''}${streams.text}`;
    view.fps.title = `${decode ? `decoding ${DECODE_LABEL[decode.mode] ?? decode.mode}: ${decode.reason}` : ''}${streams.title}`;
    if (detailCamera === c.id) {
      $('detail-badge').textContent = view.badge.textContent;
      $('detail-badge').className = view.badge.className;
    }
    // a care-critical camera's silence alarm, over its live view (alarms.js)
    showSilence(view.tile, stats.silence?.[c.id]);
    if (detailCamera === c.id) showSilence($('detail'), stats.silence?.[c.id]);
    // a single-occupancy room with a carer in it (falls.js, ADR 0158)
    falls.showRoom(view.tile, stats.falls?.rooms?.[c.id]);
  }
  for (const id of [...cameras.keys()]) {
    if (!stats.cameras[id]) {
      dropCamera(id);
      changed = true;
    }
  }
  if (changed) sendWatch();
  renderWorkers(stats);
  renderModels(stats);
  updatePlots(stats);
}

const MODEL_FIELDS = ['model', 'state', 'handler', 'from', 'where', 'inference', 'waiting', 'batch', 'oldest'];

/** Two percentiles as `p50/p99`, '-' for one not known. */
const pair = (p50, p99, digits) => `${p50 == null ? '-' : fmt(p50, digits)}/${p99 == null ? '-' : fmt(p99, digits)}`;
const modelRows = new Map();

/** One row per model: its state, where it comes from (a discovered one says its directory), its last ping's figures. */
function renderModels(stats) {
  const models = Object.values(stats.models ?? {});
  $('models-section').hidden = models.length === 0;
  const tbody = $('models').tBodies[0];
  const seen = new Set();
  for (const m of models) {
    seen.add(m.name);
    let row = modelRows.get(m.name);
    if (!row) {
      row = el('tr', { 'data-model': m.name }, ...MODEL_FIELDS.map((f) => el('td', { 'data-field': f })));
      tbody.append(row);
      modelRows.set(m.name, row);
    }
    const perCamera = Object.values(m.scheduling?.cameras ?? {})
      .map((c) => c.inference_ms_p50)
      .filter((v) => v != null)
      .sort((a, b) => a - b);
    const cells = {
      model: m.name === m.modelId ? m.name : `${m.name} (${m.modelId})`,
      state: m.state,
      // A server someone else runs says which handler it runs once it answered a ping.
      handler: m.handler ?? '-',
      from: m.source ?? (m.external ? 'socket' : 'started'),
      where: m.source === 'discovered' ? `${m.discoverDir} → ${m.socket}` : m.socket,
      inference: perCamera.length === 0 ? '-' : fmt(perCamera[Math.floor(perCamera.length / 2)], 0),
      waiting: m.scheduling?.waiting ?? '-',
      // Its batches (ADR 0127, 0128): the frames its calls held, of its max_batch, and their oldest frame's age.
      batch: `${pair(m.calls?.batchSizeP50, m.calls?.batchSizeP99, 0)} of ${m.scheduling?.maxBatch ?? '-'}`,
      oldest: pair(m.calls?.oldestFrameAgeMsP50, m.calls?.oldestFrameAgeMsP99, 0),
    };
    MODEL_FIELDS.forEach((field, i) => {
      const text = String(cells[field]);
      if (row.cells[i].textContent !== text) row.cells[i].textContent = text;
    });
    row.cells[1].className = `badge-cell ${m.state}`;
  }
  for (const [name, row] of modelRows) {
    if (seen.has(name)) continue;
    row.remove();
    modelRows.delete(name);
  }
}

// ---------------------------------------------------------------- events, and people appearing and leaving

const tracks = new Map(); // camera/label → { count, best, lastSeen }

function addEvent(kind, text) {
  const list = $('events');
  list.prepend(el('li', {}, el('span', { class: 'kind' }, `${new Date().toLocaleTimeString()} ${kind} `), text));
  while (list.children.length > 200) list.lastChild.remove();
}

function describe(event) {
  switch (event.type) {
    case 'camera-state':
      return `${event.camera} ${event.state}${event.lastError ? ` (${event.lastError.code})` : ''}`;
    case 'worker-state':
      return `${event.camera ?? 'shared'}/${event.worker} ${event.from} → ${event.to}${event.lastExit ? ` (${event.lastExit.code ?? event.lastExit.reason ?? ''})` : ''}`;
    case 'drop-alert':
      return `${event.camera ?? 'shared'}/${event.worker} ${event.state} (${(event.dropRatio * 100).toFixed(0)} % dropped)`;
    case 'objective':
      return `${event.camera ?? 'shared'}/${event.worker} ${event.state === 'missed' ? 'behind' : 'on time'}: ${event.reason}${event.fix.length > 0 ? ` → ${event.fix.join(', ')}` : ''}`;
    case 'model-state':
      return `${event.model} ${event.from} → ${event.to}`;
    case 'config-change':
      return `${event.change} ${[event.camera, event.worker].filter(Boolean).join('/')}`;
    case 'system-state':
      return event.state;
    case 'events-lost':
      return `${event.count} events not shown (the page was behind)`;
    case 'zone-count':
      return `${event.camera} zone ${event.zone}: ${event.count} ${event.label}`;
    case 'line':
      return `${event.crossing.camera} line ${event.crossing.line}: ${event.crossing.label} ${event.crossing.direction} (${event.crossing.count})`;
    case 'silence':
      return describeSilence(event);
    case 'dwell':
      return `${event.dwell.camera} zone ${event.dwell.zone}: ${event.dwell.label} ${event.dwell.seconds} s`;
    case 'fall':
      return `${event.event.after.camera} ${event.event.after.kind} ${event.event.type}${event.event.after.acknowledged_at === null ? '' : ' (acknowledged)'}`;
    case 'fall-notify':
      return `${event.alert.camera} ${event.alert.kind}: escalation step ${event.step + 1} of ${event.steps} told to ${event.targets.join(', ')}`;
    case 'fall-room':
      return `${event.camera}: ${event.state === 'assisted' ? 'assisted (a carer is in the room)' : 'watched alone'}`;
    default:
      return JSON.stringify(event).slice(0, 200);
  }
}

function onDetections(message) {
  const view = cameras.get(message.camera);
  if (view) view.detections.set(message.worker, { boxes: message.boxes, tracks: message.tracks ?? null, at: message.wallTime });
  const byLabel = new Map();
  for (const b of message.boxes) {
    const entry = byLabel.get(b.label) ?? { count: 0, best: 0 };
    entry.count++;
    entry.best = Math.max(entry.best, b.confidence ?? 0);
    byLabel.set(b.label, entry);
  }
  for (const [label, { count, best }] of byLabel) {
    const key = `${message.camera}/${label}`;
    const track = tracks.get(key);
    if (!track) addEvent(`${label} new`, `${message.camera}: ${count} (best ${best.toFixed(2)})`);
    else if (track.count !== count) addEvent(`${label} update`, `${message.camera}: ${count} (best ${best.toFixed(2)})`);
    tracks.set(key, { count, best, lastSeen: Date.now() });
  }
}
setInterval(() => {
  for (const [key, track] of tracks) {
    if (Date.now() - track.lastSeen < PERSON_END_MS) continue;
    const [camera, label] = key.split('/');
    addEvent(`${label} end`, `${camera}: gone for ${PERSON_END_MS / 1000} s`);
    tracks.delete(key);
  }
}, 500);

// ---------------------------------------------------------------- objects: tracked-object events and their snapshots

// Live, from the socket: every tracked-object event reaches the page on the
// socket it already has, at once and in order, with no request per event and
// no load on the events store; polling /api/events would show them late and
// query the store for nothing most of the time. The store (GET /api/events)
// fills the list when the socket (re)connects and after `events-lost` (the
// socket drops events for a page that is behind), the two moments the socket
// alone would leave gaps; only when the socket's `ready` says there is one (a
// request bound to fail would leave an error in the console). Snapshots are fetched with the Authorization header
// (reads beyond loopback need the token; an <img src> cannot carry it) and
// shown through object URLs, revoked when replaced or dropped.

/** event id → { li, start, fields: { … }, img, snapshotUrl, snapshotLoads, hasSnapshot } */
const objectRows = new Map();
/** Whether the server keeps events (an events section in its config; `ready` says): the store and snapshots are asked only then. */
let eventsStored = false;

function objectRow(object) {
  let row = objectRows.get(object.id);
  if (row) return row;
  const img = el('img', { class: 'snapshot', alt: '', width: '96', height: '72', 'data-field': 'snapshot' });
  img.hidden = true;
  const field = (name) => el('span', { 'data-field': name });
  const fields = {
    camera: field('camera'),
    label: field('label'),
    id: field('id'),
    zones: field('zones'),
    time: field('time'),
    score: field('score'),
    // What a vlm worker answered about the object, or a cascade's results on its crops (ADR 0050, 0051).
    description: field('description'),
  };
  const li = el(
    'li',
    { 'data-event-id': object.id },
    img,
    el(
      'div',
      { class: 'object-text' },
      el('div', {}, fields.label, ' ', fields.id, ' ', fields.score),
      el('div', { class: 'muted' }, fields.camera, ' ', fields.zones, ' ', fields.time),
      el('div', { class: 'description' }, fields.description),
    ),
  );
  row = { li, start: object.start_time, fields, img, snapshotUrl: null, snapshotLoads: 0, hasSnapshot: false, ended: false };
  const list = $('objects');
  const rows = [...list.children];
  const at = insertionIndex(
    rows.map((r) => objectRows.get(r.dataset.eventId)?.start ?? 0),
    object.start_time,
  );
  list.insertBefore(li, rows[at] ?? null);
  objectRows.set(object.id, row);
  while (list.children.length > MAX_OBJECT_ROWS) dropObjectRow(list.lastElementChild.dataset.eventId);
  $('objects-section').hidden = false;
  return row;
}

function dropObjectRow(id) {
  const row = objectRows.get(id);
  if (!row) return;
  row.li.remove();
  if (row.snapshotUrl) URL.revokeObjectURL(row.snapshotUrl);
  objectRows.delete(id);
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Shows an event's latest side (an object from /api/events, or an event's `after`). */
function showObject(object) {
  const row = objectRow(object);
  // An older side never overwrites a newer one (the store's answer can cross the socket's events).
  if (row.frameTime !== undefined && object.frame_time < row.frameTime && object.end_time === null) return;
  row.frameTime = object.frame_time;
  const f = row.fields;
  setText(f.camera, object.camera);
  setText(f.label, object.label);
  row.img.alt = `snapshot: ${object.label}`;
  setText(f.id, `#${shortId(object.id)}`);
  f.id.title = object.id;
  // A row from another node may be malformed: a list that is not one shows as none rather than stopping the list.
  const zones = Array.isArray(object.entered_zones) ? object.entered_zones : [];
  const current = Array.isArray(object.current_zones) ? object.current_zones : [];
  setText(f.zones, zones.length === 0 ? '' : `zones: ${zones.join(', ')}`);
  f.zones.title = current.length > 0 ? `in ${current.join(', ')} now` : '';
  setText(f.time, `${clockTime(object.start_time)} – ${object.end_time === null ? 'now' : clockTime(object.end_time)}`);
  setText(f.score, typeof object.top_score === 'number' ? object.top_score.toFixed(2) : '');
  if (object.description !== undefined || object.attributes !== undefined) showAnnotation(row, object);
  row.li.classList.toggle('ended', object.end_time !== null);
  const ended = object.end_time !== null && !row.ended;
  row.ended = object.end_time !== null;
  if (!object.has_snapshot || !eventsStored) return;
  // the first snapshot, and again at the end: a better one may have replaced it (it is saved without an event)
  if (!row.hasSnapshot || ended) {
    row.hasSnapshot = true;
    void loadSnapshot(object.id, row.snapshotLoads > 0);
  }
}

/** A vlm answer (description) and crop workers' results (attributes, by worker) beside the snapshot, as text. */
function showAnnotation(row, annotation) {
  const parts = [];
  if (typeof annotation.description === 'string') parts.push(annotation.description);
  if (annotation.attributes !== null && typeof annotation.attributes === 'object')
    for (const [worker, output] of Object.entries(annotation.attributes)) parts.push(`${worker}: ${JSON.stringify(output).slice(0, 120)}`);
  if (parts.length > 0) setText(row.fields.description, parts.join(' · '));
}

/** A result about a tracked object (the socket's `annotation`): shown on its row when the page has it. */
function onAnnotation(m) {
  const row = objectRows.get(m.id);
  if (row) showAnnotation(row, m);
}

async function loadSnapshot(id, reload) {
  const row = objectRows.get(id);
  if (!row) return;
  const n = ++row.snapshotLoads;
  try {
    const response = await fetch(`/api/events/${encodeURIComponent(id)}/snapshot.jpg`, { headers: authHeaders(), cache: reload ? 'reload' : 'default' });
    if (!response.ok) return;
    const url = URL.createObjectURL(await response.blob());
    // dropped meanwhile, or a later load overtook this one
    if (objectRows.get(id) !== row || row.snapshotLoads !== n) {
      URL.revokeObjectURL(url);
      return;
    }
    if (row.snapshotUrl) URL.revokeObjectURL(row.snapshotUrl);
    row.snapshotUrl = url;
    row.img.onload = () => (row.img.dataset.loaded = 'true');
    row.img.src = url;
    row.img.hidden = false;
  } catch {
    // a snapshot that does not come is not shown
  }
}

let eventsLoad = null;

/** The store's newest events (GET /api/events), merged into the list; none without a store (live events only, no snapshots). */
function loadEvents() {
  if (!eventsStored) return Promise.resolve();
  eventsLoad ??= (async () => {
    try {
      const { events } = await api('GET', `/api/events?limit=${MAX_OBJECT_ROWS}`);
      for (const object of [...events].reverse()) showObject(object);
    } catch {
      // the list fills from the socket meanwhile; the next reconnect or events-lost asks again
    } finally {
      eventsLoad = null;
    }
  })();
  return eventsLoad;
}

function onTrackedObject(event) {
  showObject(event.event.after);
}

// ---------------------------------------------------------------- the socket

let socket = null;
let retryMs = 500;

function send(message) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

// "no update for N s" over the page, "no picture for N s" on a tile, on the browser's clock (staleness.js)
const staleness = mountStaleness({ banner: $('stale'), tileOf: (id) => (detailCamera === id ? $('detail') : cameras.get(id)?.tile) });

function sendWatch() {
  const list = detailCamera === null ? [...cameras.keys()].map((id) => ({ id, h: GRID_HEIGHT })) : [{ id: detailCamera, h: 0 }];
  staleness.watching(list.map((c) => c.id));
  send({ type: 'watch', cameras: list });
}

function reconnect() {
  socket?.close();
  connect();
}

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/ws`);
  ws.binaryType = 'arraybuffer';
  socket = ws;
  ws.onmessage = (e) => {
    staleness.update();
    if (typeof e.data !== 'string') return onFrame(e.data);
    const m = JSON.parse(e.data);
    switch (m.type) {
      case 'hello':
        retryMs = 500;
        if (m.auth === 'required') {
          if (!token()) {
            showError('This server needs its API token to show anything.');
            void askToken().then((ok) => ok && reconnect());
            return;
          }
          send({ type: 'auth', token: token() });
        }
        return;
      case 'ready': {
        // cameras known from before a reconnect: their zones may have changed meanwhile (new ones load theirs)
        for (const view of cameras.values()) void loadOverlay(view);
        for (const id of m.cameras) cameraView(id);
        sendWatch();
        eventsStored = m.events === true;
        if (Array.isArray(m.skeleton)) skeleton = m.skeleton;
        void loadEvents();
        void falls.load();
        return;
      }
      case 'auth-ok':
        showError('');
        return;
      case 'stats':
        return onStats(m.stats);
      case 'event':
        if (m.event.type === 'tracked-object') return onTrackedObject(m.event);
        if (m.event.type === 'fall') falls.onEvent(m.event);
        if (m.event.type === 'events-lost') void loadEvents();
        if (m.event.type === 'config-change' && m.event.camera && cameras.has(m.event.camera)) void loadOverlay(cameras.get(m.event.camera));
        if (m.event.type === 'config-change' && m.event.camera === detailCamera) void editor.reload(true);
        return addEvent(m.event.type, describe(m.event));
      case 'detections':
        return onDetections(m);
      case 'annotation':
        return onAnnotation(m);
      case 'camera-gone':
        return dropCamera(m.camera);
      case 'error':
        showError(`${m.code}: ${m.message}`);
        if (m.code === 'ERR_HTTP_UNAUTHORIZED') sessionStorage.removeItem('framesupplier-token');
        return;
    }
  };
  ws.onclose = (e) => {
    if (socket !== ws) return;
    $('system-state').textContent = 'disconnected';
    $('system-state').className = 'badge stopped';
    if (e.code === 4401) return; // wrong token: the prompt (token button) decides
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  };
}

connect();
