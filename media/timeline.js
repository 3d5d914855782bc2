// The run timeline's webview: shows the SVG the extension draws (src/views/timeline-svg.ts) and
// turns what the user does into messages: a click travels to a step (a mark's own step, else the
// step under the pointer; Alt+click the step before), the wheel zooms around the pointer, a drag
// pans, the buttons fit the run, zoom and centre on the cursor. The extension asks the adapter for
// the window at one column per pixel, so any zoom of any run costs the same.
// @ts-check
(function () {
  // eslint-disable-next-line no-undef
  const vscode = acquireVsCodeApi();
  const plot = /** @type {HTMLElement} */ (document.getElementById('plot'));
  const tip = /** @type {HTMLElement} */ (document.getElementById('tip'));
  const status = /** @type {HTMLElement} */ (document.getElementById('status'));
  /** @type {{ from: number, to: number, start: number, end: number, position: number, left: number, plotWidth: number } | null} */
  let view = null;
  let drag = /** @type {{ x: number, moved: boolean } | null} */ (null);

  const width = () => Math.max(400, Math.floor(document.body.clientWidth - 24));
  const send = (/** @type {Record<string, unknown>} */ m) => vscode.postMessage(m);

  /** The step under a pixel of the plot. */
  function stepAt(/** @type {number} */ clientX) {
    if (!view) return 0;
    const svg = plot.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : plot.getBoundingClientRect();
    const x = clientX - box.left - view.left;
    return view.from + (x / view.plotWidth) * (view.to - view.from);
  }

  function zoom(/** @type {number} */ factor, /** @type {number} */ around) {
    if (!view) return;
    const span = Math.max(10, (view.to - view.from) * factor);
    const t = (around - view.from) / (view.to - view.from);
    const from = Math.max(0, Math.round(around - t * span));
    send({ type: 'view', from, to: Math.round(from + span), width: width() });
  }

  window.addEventListener('message', (e) => {
    const m = e.data;
    if (m.type === 'render') {
      plot.style.transform = '';
      tip.style.display = 'none';
      plot.innerHTML = m.svg;
      view = { from: m.from, to: m.to, start: m.start, end: m.end, position: m.position, left: m.left, plotWidth: m.plotWidth };
      status.textContent = m.status;
      status.className = 'status';
      document.body.dataset.position = String(m.position);
    } else if (m.type === 'status') {
      status.textContent = m.text;
      status.className = m.error ? 'status error' : 'status';
    }
  });

  plot.addEventListener('mousedown', (e) => {
    if (e.button === 0) drag = { x: e.clientX, moved: false };
  });
  window.addEventListener('mousemove', (e) => {
    if (drag) {
      const dx = e.clientX - drag.x;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (drag.moved) plot.style.transform = `translateX(${dx}px)`;
      tip.style.display = 'none';
      return;
    }
    const t = /** @type {Element | null} */ (e.target instanceof Element ? e.target.closest('[data-tip]') : null);
    if (!t) { tip.style.display = 'none'; return; }
    tip.textContent = t.getAttribute('data-tip');
    tip.style.display = 'block';
    const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
    const y = e.clientY + 18 + tip.offsetHeight > window.innerHeight ? e.clientY - tip.offsetHeight - 8 : e.clientY + 18;
    tip.style.left = `${Math.max(0, x)}px`;
    tip.style.top = `${Math.max(0, y)}px`;
  });
  window.addEventListener('mouseup', (e) => {
    const d = drag;
    drag = null;
    if (!d || !view) return;
    if (d.moved) {
      const perPx = (view.to - view.from) / view.plotWidth;
      const shift = Math.round(-(e.clientX - d.x) * perPx);
      const from = Math.max(0, view.from + shift);
      send({ type: 'view', from, to: from + (view.to - view.from), width: width() });
      return;
    }
    // A click: a mark or a span travels to its step; elsewhere, to the step under the pointer.
    const hit = e.target instanceof Element ? e.target.closest('[data-step]') : null;
    let step = hit && hit.closest('.tl-mark') ? Number(hit.getAttribute('data-step')) : Math.round(stepAt(e.clientX));
    if (e.altKey) step -= 1;
    step = Math.max(view.start, Math.min(view.end, step));
    if (Number.isFinite(step)) send({ type: 'travel', step });
  });
  plot.addEventListener('wheel', (e) => {
    e.preventDefault();
    tip.style.display = 'none';
    zoom(e.deltaY > 0 ? 1.25 : 0.8, stepAt(e.clientX));
  }, { passive: false });

  const button = (/** @type {string} */ id, /** @type {() => void} */ f) => document.getElementById(id)?.addEventListener('click', f);
  button('fit', () => send({ type: 'view', fit: true, width: width() }));
  button('zoom-in', () => view && zoom(0.5, (view.from + view.to) / 2));
  button('zoom-out', () => view && zoom(2, (view.from + view.to) / 2));
  button('cursor', () => {
    if (!view) return;
    const span = view.to - view.from;
    const from = Math.max(0, Math.round(view.position - span / 2));
    send({ type: 'view', from, to: from + span, width: width() });
  });
  window.addEventListener('keydown', (e) => {
    if (!view) return;
    if (e.key === '+' || e.key === '=') zoom(0.5, (view.from + view.to) / 2);
    else if (e.key === '-') zoom(2, (view.from + view.to) / 2);
  });
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(() => view && send({ type: 'view', from: view.from, to: view.to, width: width() }), 150);
  });
  send({ type: 'ready', width: width() });
})();
