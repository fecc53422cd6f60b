// Pure helpers of the dashboard's overlay (zones, masks, tracked objects) and
// of its list of object events: no DOM, no network, so the page imports them
// and test/http/overlay.test.ts runs them in Node. Coordinates come
// normalised (0–1 of the frame, (0, 0) top left) and are scaled to the canvas
// the frame is drawn on, whatever size the live view has.

/** A finite number in 0–1 (a value from the config or an event is not trusted to be one). */
const unit = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;

/** A polygon's [x, y] points in canvas pixels; null unless it has at least 3 points, each two numbers in 0–1. */
export function scalePolygon(points, width, height) {
  if (!Array.isArray(points) || points.length < 3) return null;
  const out = [];
  for (const p of points) {
    if (!Array.isArray(p) || p.length !== 2 || !unit(p[0]) || !unit(p[1])) return null;
    out.push([p[0] * width, p[1] * height]);
  }
  return out;
}

/** A box [x1, y1, x2, y2] as { x, y, w, h } in canvas pixels; null unless four numbers in 0–1. */
export function scaleBox(box, width, height) {
  if (!Array.isArray(box) || box.length !== 4 || !box.every(unit)) return null;
  const [x1, y1, x2, y2] = [Math.min(box[0], box[2]), Math.min(box[1], box[3]), Math.max(box[0], box[2]), Math.max(box[1], box[3])];
  return { x: x1 * width, y: y1 * height, w: (x2 - x1) * width, h: (y2 - y1) * height };
}

/** Where a zone's name goes: its topmost point, left of it (the label sits just below the edge). */
export function labelPoint(scaled) {
  let best = scaled[0];
  for (const p of scaled) if (p[1] < best[1] || (p[1] === best[1] && p[0] < best[0])) best = p;
  return best;
}

/** A camera's zones and masks from its config (GET /api/cameras/:id's `config`), the malformed left out. */
export function overlayOf(config) {
  const zones = [];
  const masks = [];
  const z = config && typeof config === 'object' ? config.zones : undefined;
  if (z && typeof z === 'object' && !Array.isArray(z)) {
    for (const [name, zone] of Object.entries(z)) if (zone && Array.isArray(zone.polygon)) zones.push({ name, polygon: zone.polygon });
  }
  const m = config && typeof config === 'object' ? config.masks : undefined;
  if (Array.isArray(m)) for (const polygon of m) if (Array.isArray(polygon)) masks.push(polygon);
  return { zones, masks };
}

/** The part of Frigate's id a person reads ("1700000000.123456-k3x9qa" → "k3x9qa"); other ids whole. */
export function shortId(id) {
  const s = String(id);
  const dash = s.lastIndexOf('-');
  return dash >= 0 && dash < s.length - 1 ? s.slice(dash + 1) : s;
}

/** What the box of a tracked object says: its label, short id and score. */
export function trackCaption(track) {
  const score = typeof track.score === 'number' ? ` ${track.score.toFixed(2)}` : '';
  return `${track.label} #${shortId(track.id)}${score}`;
}

/** A zone's colour: one hue per zone, by its place in the camera's list. */
export function zoneHue(index) {
  return (200 + index * 67) % 360;
}

/**
 * Where an event with start time `start` goes in a list kept newest first,
 * given the start times of the rows there now (newest first): the index of the
 * first row that started earlier, or the list's length.
 */
export function insertionIndex(starts, start) {
  for (let i = 0; i < starts.length; i++) if (starts[i] < start) return i;
  return starts.length;
}

/** Epoch seconds as a wall-clock time (HH:MM:SS, local); '' for null or not a number. */
export function clockTime(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '';
  const d = new Date(seconds * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((v) => String(v).padStart(2, '0')).join(':');
}
