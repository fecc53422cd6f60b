// What the page shows has stopped coming: judged on the browser's own clock, never on the server's word, so it
// holds when the server cannot speak (its process stopped, blocked or gone, the network cut while the socket
// still looks open). Any socket message is an update (stats come every second, pictures with each frame):
// with none for STALE_MS the page says "no update for N s" over everything; a watched camera whose pictures
// stopped for STALE_MS while updates still come says "no picture for N s" on its tile. Text only (textContent).

/** How long without an update (or a watched camera's picture) before the page says so, ms. */
export const STALE_MS = 5000;

/** The banner's words for an age in ms, or null while it is not stale. */
export function staleText(what, ageMs) {
  if (!(ageMs >= STALE_MS)) return null;
  return `no ${what} for ${Math.floor(ageMs / 1000)} s`;
}

/**
 * Watches the page's updates: update() at every socket message, picture(camera) at every frame, watching(ids) when
 * the cameras watched change; tiles(id) gives a camera's tile (or undefined). Judged every second.
 */
export function mountStaleness({ banner, tileOf, now = () => Date.now() }) {
  let lastUpdate = null;
  const pictures = new Map(); // watched camera → when its last picture came (or when it began to be watched)

  function judge() {
    const t = now();
    const text = lastUpdate === null ? null : staleText('update', t - lastUpdate);
    banner.hidden = text === null;
    if (text !== null) banner.textContent = `${text}: what is shown is old (the server does not answer)`;
    document.body.dataset.stale = String(text !== null);
    for (const [camera, at] of pictures) {
      const tile = tileOf(camera);
      if (!tile) continue;
      // With nothing coming at all, the page's banner says it; a tile says only its own silence.
      const own = text === null ? staleText('picture', t - at) : null;
      let mark = tile.querySelector(':scope > .stale-picture');
      if (!mark && own === null) continue;
      if (!mark) {
        mark = document.createElement('div');
        mark.className = 'stale-picture';
        mark.setAttribute('role', 'status');
        tile.append(mark);
      }
      mark.hidden = own === null;
      if (own !== null) mark.textContent = own;
    }
  }
  setInterval(judge, 1000);

  return {
    update() {
      lastUpdate = now();
    },
    picture(camera) {
      if (pictures.has(camera)) pictures.set(camera, now());
    },
    watching(ids) {
      const t = now();
      for (const id of [...pictures.keys()]) if (!ids.includes(id)) pictures.delete(id);
      for (const id of ids) if (!pictures.has(id)) pictures.set(id, t);
    },
    judge,
  };
}
