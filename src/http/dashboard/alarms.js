// Silence alarms on the dashboard (ADR 0138): a care-critical camera that gives no fresh result has a banner
// over its live view (and the detail view's) saying since when and why, from the stats the socket brings; it
// goes when the camera's results come back. Text only (textContent): nothing from the server is parsed as HTML.

const REASONS = {
  'system-down': 'framesupplier down',
  'camera-down': 'camera down',
  frozen: 'picture frozen',
  'decoder-stalled': 'decoder stalled',
  'model-down': 'model server down',
  'worker-down': 'worker down',
  'results-withheld': 'results withheld',
  'no-results': 'no results',
};

/** The reason in words. */
export function reasonText(reason) {
  return REASONS[reason] ?? String(reason ?? '');
}

/** The banner of a tile (made once, over its canvas): hidden while the camera is not silent. */
function bannerOf(container) {
  let banner = container.querySelector(':scope > .silence-alarm');
  if (!banner) {
    banner = document.createElement('div');
    banner.className = 'silence-alarm';
    banner.setAttribute('role', 'alert');
    banner.hidden = true;
    container.prepend(banner);
  }
  return banner;
}

/**
 * Shows a camera's silence (stats.silence[camera], or undefined for a camera not watched) on a container (a tile,
 * the detail view): `data-silent` and `data-silence-reason` on the container, a banner while silent.
 */
export function showSilence(container, silence, now = Date.now()) {
  if (!container) return;
  const silent = silence?.silent === true;
  container.dataset.silent = silence ? String(silent) : '';
  container.dataset.silenceReason = silent ? silence.reason : '';
  if (!silence && !container.querySelector(':scope > .silence-alarm')) return;
  const banner = bannerOf(container);
  banner.hidden = !silent;
  if (!silent) return;
  const forS = silence.since == null ? '' : ` for ${Math.max(0, Math.round((now - silence.since) / 1000))} s`;
  banner.textContent = `SILENT${forS}: ${reasonText(silence.reason)}`;
  banner.title = silence.detail ?? '';
}

/** A `silence` event for the events list. */
export function describeSilence(event) {
  const s = event.silence;
  const what = event.state === 'cleared' ? 'results again' : `${reasonText(s.reason)} (${s.detail ?? ''})`;
  return `${event.camera}/${event.worker} ${event.state === 'cleared' ? 'not silent' : 'silent'}: ${what}`;
}
