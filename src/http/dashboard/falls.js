// Fall and person-down alerts on the dashboard (ADR 0132): every alert not yet
// acknowledged is shown over its camera's live view (the tile, and the detail
// view when it is that camera's) and in the list at the top of the page, with a
// button that acknowledges it (POST /api/falls/:id/acknowledge, the API token's
// call); it stays until acknowledged, whether the person got up or not (an alert
// that ended says how). The page learns them from GET /api/falls when its socket
// is ready, then from the socket's `fall` events. Text goes in as text, never as
// HTML: an alert's fields are shown as written.

/**
 * @param {{
 *   el: (tag: string, attrs?: object, ...children: (Node|string)[]) => HTMLElement,
 *   list: HTMLElement,
 *   detail: HTMLElement,
 *   detailCamera: () => string | null,
 *   tileOf: (camera: string) => HTMLElement | null,
 *   authHeaders: () => Record<string, string>,
 *   askToken: () => Promise<boolean>,
 *   hasToken: () => boolean,
 *   showError: (message: string) => void,
 *   report: object,
 * }} o
 */
export function mountFalls(o) {
  /** id → alert, oldest first. */
  const alerts = new Map();
  o.report.falls = [];

  const time = (epochSeconds) => (epochSeconds == null ? '–' : new Date(epochSeconds * 1000).toLocaleTimeString());
  const title = (a) => (a.kind === 'fall' ? 'Fall' : 'Person down');
  const state = (a) => {
    if (a.end_time === null) return a.kind === 'fall' ? `down since ${time(a.down_time)} (fell at ${time(a.fall_time)})` : `lying since ${time(a.down_time)}`;
    const why =
      { up: 'up again', gone: 'lost from sight while down', stopped: 'no longer watched', restart: 'framesupplier restarted' }[a.end_reason] ?? a.end_reason;
    return `down at ${time(a.down_time)}, ended ${time(a.end_time)}: ${why}`;
  };

  async function acknowledge(alert) {
    if (!o.hasToken() && !(await o.askToken())) {
      o.showError('acknowledge: needs the API token');
      return;
    }
    try {
      const response = await fetch(`/api/falls/${encodeURIComponent(alert.id)}/acknowledge`, {
        method: 'POST',
        headers: { ...o.authHeaders(), 'content-type': 'application/json' },
        body: JSON.stringify({ by: 'dashboard' }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok && response.status !== 404)
        throw Object.assign(new Error(body.error?.message ?? response.statusText), { code: body.error?.code ?? `HTTP ${response.status}` });
      // 404: acknowledged meanwhile (another page, MQTT): its update says so, or it is gone already
      if (response.status === 404) forget(alert.id);
      o.showError('');
    } catch (error) {
      o.showError(`acknowledge: ${error.code}: ${error.message}`);
      if (error.code === 'ERR_HTTP_UNAUTHORIZED') sessionStorage.removeItem('framesupplier-token');
    }
  }

  function card(a, compact) {
    const button = o.el('button', { type: 'button', class: 'acknowledge', 'data-alert': a.id }, 'Acknowledge');
    button.addEventListener('click', (e) => {
      e.stopPropagation(); // not the tile's click (which opens the camera)
      void acknowledge(a);
    });
    const raised = a.raised > 1 ? ` · raised ${a.raised}×` : '';
    const confirmation =
      a.confirmation === null
        ? ''
        : a.confirmation.judged === false
          ? ` · ${a.confirmation.worker}: not judged (${a.confirmation.not_judged})`
          : ` · ${a.confirmation.worker}: ${typeof a.confirmation.answer === 'string' ? a.confirmation.answer : JSON.stringify(a.confirmation.answer)}`;
    const standing = a.end_time === null || a.end_reason !== 'up';
    return o.el(
      'div',
      {
        class: `fall-alert${standing ? ' standing' : ''}${compact ? ' compact' : ''}`,
        role: 'alert',
        'data-alert': a.id,
        'data-camera': a.camera,
        'data-kind': a.kind,
      },
      o.el('strong', {}, `${title(a)} · ${a.camera}`),
      o.el('span', { class: 'fall-state' }, ` ${state(a)}${raised}${confirmation}`),
      button,
    );
  }

  function render() {
    o.list.replaceChildren(...[...alerts.values()].map((a) => card(a, false)));
    o.list.hidden = alerts.size === 0;
    const byCamera = new Map();
    for (const a of alerts.values()) byCamera.set(a.camera, [...(byCamera.get(a.camera) ?? []), a]);
    for (const tile of document.querySelectorAll('.tile')) {
      const camera = tile.dataset.camera;
      tile.querySelector('.fall-overlay')?.remove();
      const mine = byCamera.get(camera) ?? [];
      tile.classList.toggle('person-down', mine.length > 0);
      if (mine.length > 0) tile.append(o.el('div', { class: 'fall-overlay' }, ...mine.map((a) => card(a, true))));
    }
    o.detail.querySelector('.fall-overlay')?.remove();
    const here = byCamera.get(o.detailCamera() ?? '') ?? [];
    if (here.length > 0) o.detail.append(o.el('div', { class: 'fall-overlay' }, ...here.map((a) => card(a, true))));
    o.report.falls = [...alerts.keys()];
  }

  function forget(id) {
    if (alerts.delete(id)) render();
  }

  return {
    /** Every alert waiting to be acknowledged, from the API (at every socket ready). */
    async load() {
      try {
        const response = await fetch('/api/falls', { headers: o.authHeaders() });
        if (!response.ok) return;
        const body = await response.json();
        alerts.clear();
        for (const a of body.alerts ?? []) if (a.acknowledged_at === null) alerts.set(a.id, a);
        render();
      } catch {
        // the next ready loads them
      }
    },
    /** A `fall` event from the socket. */
    onEvent(event) {
      const a = event.event.after;
      if (a.acknowledged_at !== null) alerts.delete(a.id);
      else alerts.set(a.id, a);
      render();
    },
    /** A tile was added or the detail view changed camera: draw the alerts over it. */
    render,
  };
}
