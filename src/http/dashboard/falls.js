// Fall and person-down alerts on the dashboard (ADR 0132): every alert not yet
// acknowledged is shown over its camera's live view (the tile, and the detail
// view when it is that camera's) and in the list at the top of the page, with a
// button that acknowledges it (POST /api/falls/:id/acknowledge, the API token's
// call); it stays until acknowledged, whether the person got up or not (an alert
// that ended says how). The page learns them from GET /api/falls when its socket
// is ready, then from the socket's `fall` events. Text goes in as text, never as
// HTML: an alert's fields are shown as written. An alert held as assisted (a
// carer in a single-occupancy room, ADR 0158) is shown amber, never hidden; a
// room's tile says while it is assisted. The alerts answered lately are listed
// with who answered, their time to acknowledge and time on the floor (ADR 0159).

/**
 * @param {{
 *   el: (tag: string, attrs?: object, ...children: (Node|string)[]) => HTMLElement,
 *   list: HTMLElement,
 *   answered: HTMLElement,
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
  /** The alerts answered lately, newest first (GET /api/falls' answered, then acknowledgements as they come). */
  let answered = [];
  o.report.falls = [];
  o.report.answered = [];
  const ANSWERED_SHOWN = 10;
  const duration = (ms) => (ms == null ? '–' : ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

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
    const raised = `${a.raised > 1 ? ` · raised ${a.raised}×` : ''}${a.escalated > 0 ? ` · escalation step ${a.escalated} told` : ''}${a.assisted ? ' · assisted: a carer is in the room' : ''}`;
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
        class: `fall-alert${standing ? ' standing' : ''}${a.assisted ? ' assisted' : ''}${compact ? ' compact' : ''}`,
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
    renderAnswered();
  }

  function renderAnswered() {
    const rows = answered
      .slice(0, ANSWERED_SHOWN)
      .map((a) =>
        o.el(
          'tr',
          { 'data-alert': a.id },
          o.el('td', {}, `${title(a)} · ${a.camera}`),
          o.el('td', {}, time(a.down_time)),
          o.el('td', {}, `${a.acknowledged_by ?? '–'} at ${time(a.acknowledged_at)}`),
          o.el('td', { class: 'time-to-acknowledge' }, duration(a.time_to_acknowledge_ms)),
          o.el('td', { class: 'time-on-floor' }, duration(a.time_on_floor_ms)),
        ),
      );
    const head = o.el('tr', {}, ...['Answered', 'down at', 'acknowledged by', 'time to acknowledge', 'time on the floor'].map((h) => o.el('th', {}, h)));
    o.answered.replaceChildren(o.el('table', {}, head, ...rows));
    o.answered.hidden = rows.length === 0;
    o.report.answered = answered.map((a) => a.id);
  }

  function noteAnswered(a) {
    answered = [a, ...answered.filter((x) => x.id !== a.id)].slice(0, ANSWERED_SHOWN);
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
        answered = (body.answered ?? []).slice(0, ANSWERED_SHOWN);
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
      if (a.acknowledged_at !== null && (event.event.before.acknowledged_at === null || answered.some((x) => x.id === a.id))) noteAnswered(a);
      render();
    },
    /** A camera's single-occupancy room from the stats: the tile says while a carer is with the resident. */
    showRoom(tile, room) {
      tile.querySelector('.assisted-badge')?.remove();
      const assisted = room?.state === 'assisted';
      tile.dataset.assisted = room === undefined ? '' : String(assisted);
      if (assisted)
        tile.append(
          o.el(
            'div',
            { class: 'assisted-badge', title: 'two or more people in a single-occupancy room: its fall alerts are held as assisted' },
            `ASSISTED · ${room.people} people`,
          ),
        );
    },
    /** A tile was added or the detail view changed camera: draw the alerts over it. */
    render,
  };
}
