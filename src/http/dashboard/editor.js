// The zone, mask and line editor of a camera's live view (the detail view): the camera's areas as it
// runs them (GET /api/cameras/:id/areas) drawn over the picture, and drawn, moved and deleted with the
// mouse; points are snapped to the frame (clamped to 0–1, three decimals). Save sends them all (PUT
// /api/cameras/:id/areas): the server checks them as `config check` does, the running camera uses them
// at once and, with --save-config, they go into the config file with its comments kept. Without a
// token that may write, the editor only shows: its controls are disabled and it says why.
// Its own module and its own part of the page, so the rest of the dashboard knows only open/close.

const SVG = 'http://www.w3.org/2000/svg';
const snap = (v) => Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000;
const listOf = (text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The shapes of a camera's areas as the editor holds them: { kind, name, points, extra } (extra: the keys it does not edit). */
export function shapesOf(areas) {
  const shapes = [];
  for (const [name, z] of Object.entries(areas?.zones ?? {})) {
    const { polygon, ...extra } = z;
    shapes.push({ kind: 'zone', name, points: polygon.map((p) => [p[0], p[1]]), extra });
  }
  (areas?.masks ?? []).forEach((polygon, i) => shapes.push({ kind: 'mask', name: `mask ${i + 1}`, points: polygon.map((p) => [p[0], p[1]]), extra: {} }));
  for (const [name, l] of Object.entries(areas?.lines ?? {})) {
    const { points, ...extra } = l;
    shapes.push({ kind: 'line', name, points: points.map((p) => [p[0], p[1]]), extra });
  }
  return shapes;
}

/** The body of PUT /api/cameras/:id/areas from the editor's shapes. */
export function areasOf(shapes) {
  const zones = {};
  const masks = [];
  const lines = {};
  for (const s of shapes) {
    if (s.kind === 'zone') zones[s.name] = { ...s.extra, polygon: s.points };
    else if (s.kind === 'mask') masks.push(s.points);
    else lines[s.name] = { ...s.extra, points: s.points };
  }
  return { zones, masks, lines };
}

/**
 * Mounts the editor under the detail view's canvas. `authHeaders()` gives the request headers with the
 * tab's token; returns { open(camera), close(), reload() }.
 */
export function mountEditor({ canvas, authHeaders }) {
  const stage = document.createElement('div');
  stage.className = 'editor-stage';
  canvas.replaceWith(stage);
  stage.append(canvas);
  const svg = document.createElementNS(SVG, 'svg');
  svg.id = 'editor-overlay';
  svg.setAttribute('viewBox', '0 0 1 1');
  svg.setAttribute('preserveAspectRatio', 'none');
  stage.append(svg);

  const panel = document.createElement('div');
  panel.id = 'editor';
  panel.innerHTML = `
    <div class="editor-tools">
      <button type="button" data-draw="zone">Draw zone</button>
      <button type="button" data-draw="line">Draw line</button>
      <button type="button" data-draw="mask">Draw mask</button>
      <button type="button" id="editor-finish" disabled>Finish</button>
      <button type="button" id="editor-save">Save</button>
      <span id="editor-status" class="muted" role="status"></span>
    </div>
    <div class="editor-form">
      <label>Name <input id="editor-name" autocomplete="off" /></label>
      <label>Labels <input id="editor-labels" placeholder="every label" autocomplete="off" /></label>
      <label>Dwell s <input id="editor-dwell" placeholder="zones: 30, 60" autocomplete="off" /></label>
      <label>In side <select id="editor-in"><option>right</option><option>left</option></select></label>
    </div>
    <ol id="editor-shapes" aria-label="zones, masks and lines"></ol>`;
  stage.after(panel);
  const $ = (id) => panel.querySelector(`#${id}`);

  let camera = null;
  let shapes = [];
  let drawing = null; // { kind, points } while a new shape is drawn
  let dragging = null; // { shape, index } while a point is moved
  let canWrite = false;

  const status = (text) => ($('editor-status').textContent = text);

  function setWritable(writable) {
    canWrite = writable;
    for (const b of panel.querySelectorAll('button, input, select')) b.disabled = !writable;
    $('editor-finish').disabled = !writable || drawing === null;
    panel.dataset.readonly = writable ? 'false' : 'true';
    if (!writable) status('read-only: saving needs the API token (token button)');
  }

  /** Where a pointer is, in frame coordinates, snapped. */
  function pointOf(event) {
    const r = svg.getBoundingClientRect();
    return [snap((event.clientX - r.left) / r.width), snap((event.clientY - r.top) / r.height)];
  }

  /** The SVG over the canvas's picture (object-fit: contain may leave bars beside it). */
  function fit() {
    const box = canvas.getBoundingClientRect();
    const aspect = canvas.width / canvas.height || 4 / 3;
    let w = box.width;
    let h = box.height;
    if (w / h > aspect) w = h * aspect;
    else h = w / aspect;
    Object.assign(svg.style, {
      left: `${canvas.offsetLeft + (box.width - w) / 2}px`,
      top: `${canvas.offsetTop + (box.height - h) / 2}px`,
      width: `${w}px`,
      height: `${h}px`,
    });
  }

  function render() {
    fit();
    svg.replaceChildren();
    const all = drawing === null ? shapes : [...shapes, { ...drawing, name: 'new', drawing: true }];
    for (const shape of all) {
      const closed = shape.kind !== 'line';
      const outline = document.createElementNS(SVG, closed ? 'polygon' : 'polyline');
      outline.setAttribute('points', shape.points.map((p) => p.join(',')).join(' '));
      outline.setAttribute('class', `editor-${shape.kind}${shape.drawing ? ' editor-drawing' : ''}`);
      outline.setAttribute('vector-effect', 'non-scaling-stroke');
      outline.dataset.name = shape.name;
      svg.append(outline);
      shape.points.forEach((p, index) => {
        const handle = document.createElementNS(SVG, 'circle');
        handle.setAttribute('cx', String(p[0]));
        handle.setAttribute('cy', String(p[1]));
        handle.setAttribute('r', '0.012');
        handle.setAttribute('class', 'editor-handle');
        if (!shape.drawing && canWrite)
          handle.addEventListener('pointerdown', (e) => {
            e.stopPropagation();
            dragging = { shape, index };
            svg.setPointerCapture(e.pointerId);
          });
        svg.append(handle);
      });
    }
    svg.dataset.zones = shapes.filter((s) => s.kind === 'zone').length;
    svg.dataset.lines = shapes.filter((s) => s.kind === 'line').length;
    svg.dataset.masks = shapes.filter((s) => s.kind === 'mask').length;
    const list = $('editor-shapes');
    list.replaceChildren();
    for (const shape of shapes) {
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = 'delete';
      remove.disabled = !canWrite;
      remove.addEventListener('click', () => {
        shapes = shapes.filter((s) => s !== shape);
        status('changed: not saved');
        render();
      });
      const item = document.createElement('li');
      item.append(`${shape.kind} ${shape.name} (${shape.points.length} points) `, remove);
      list.append(item);
    }
  }

  svg.addEventListener('pointerdown', (e) => {
    if (drawing === null || !canWrite) return;
    drawing.points.push(pointOf(e));
    $('editor-finish').disabled = drawing.points.length < (drawing.kind === 'line' ? 2 : 3);
    render();
  });
  svg.addEventListener('pointermove', (e) => {
    if (dragging === null) return;
    dragging.shape.points[dragging.index] = pointOf(e);
    render();
  });
  svg.addEventListener('pointerup', () => {
    if (dragging === null) return;
    dragging = null;
    status('changed: not saved');
  });

  for (const button of panel.querySelectorAll('[data-draw]'))
    button.addEventListener('click', () => {
      drawing = { kind: button.dataset.draw, points: [] };
      status(`click points on the picture, then Finish (${drawing.kind === 'line' ? 2 : 3} at least)`);
      $('editor-finish').disabled = true;
      render();
    });

  $('editor-finish').addEventListener('click', () => {
    if (drawing === null) return;
    const { kind, points } = drawing;
    const name = $('editor-name').value.trim() || `${kind}${shapes.filter((s) => s.kind === kind).length + 1}`;
    const labels = listOf($('editor-labels').value);
    const extra = labels.length > 0 ? { labels } : {};
    if (kind === 'zone') {
      const dwell = listOf($('editor-dwell').value).map(Number);
      if (dwell.length > 0) extra.dwellSeconds = dwell;
    }
    if (kind === 'line') extra.in = $('editor-in').value;
    shapes = [...shapes.filter((s) => !(s.kind === kind && s.name === name && kind !== 'mask')), { kind, name, points, extra: kind === 'mask' ? {} : extra }];
    drawing = null;
    $('editor-finish').disabled = true;
    status('changed: not saved');
    render();
  });

  $('editor-save').addEventListener('click', async () => {
    if (camera === null) return;
    status('saving…');
    try {
      const response = await fetch(`/api/cameras/${encodeURIComponent(camera)}/areas`, {
        method: 'PUT',
        headers: { ...authHeaders(), 'content-type': 'application/json' },
        body: JSON.stringify(areasOf(shapes)),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const issues = (body.error?.issues ?? []).map((i) => `${i.path}: ${i.message}`).join('; ');
        status(`not saved: ${body.error?.code ?? response.status}: ${issues || body.error?.message || response.statusText}`);
        if (response.status === 401) setWritable(false);
        return;
      }
      shapes = shapesOf(body);
      // Applied but not in the config file: the server runs without --save-config, or the file has no such camera.
      const unsaved =
        body.unsavedBecause === 'not-in-config-file'
          ? 'applied, not saved: the config file has no such camera (added through the API; kept until it restarts)'
          : 'applied, not saved: the server runs without --save-config (kept until it restarts)';
      status(body.saved === false ? unsaved : body.savedTo === 'cluster' ? "saved in the cluster's desired state" : 'saved');
      render();
    } catch (error) {
      status(`not saved: ${error.message}`);
    }
  });

  /** The areas as the camera runs them, and whether this tab may write; `keepEdits`: not over unsaved changes. */
  async function reload(keepEdits = false) {
    if (camera === null) return;
    if (keepEdits && $('editor-status').textContent === 'changed: not saved') return;
    const headers = authHeaders();
    try {
      // An areas read that failed is not "no areas": saving what it drew (nothing) would clear the camera's.
      const [areas, auth] = await Promise.all([
        fetch(`/api/cameras/${encodeURIComponent(camera)}/areas`, { headers }).then(async (r) => {
          if (r.ok) return r.json();
          const body = await r.json().catch(() => ({}));
          throw new Error(body.error?.code ?? String(r.status));
        }),
        fetch('/api/auth', { headers }).then((r) => r.json()),
      ]);
      shapes = shapesOf(areas);
      setWritable(auth.authorised === true);
    } catch (error) {
      shapes = [];
      setWritable(false);
      status(`cannot read the areas: ${error.message}`);
    }
    render();
  }

  new ResizeObserver(() => camera !== null && fit()).observe(canvas);

  return {
    open(id) {
      camera = id;
      drawing = null;
      panel.hidden = false;
      svg.style.display = '';
      void reload();
    },
    close() {
      camera = null;
      panel.hidden = true;
      svg.style.display = 'none';
    },
    reload,
  };
}
