// The XSAVE layout view's webview: shows the SVG the extension draws (src/views/layout-svg.ts),
// one area or two side by side, and sends what the user chooses: the area, the format of a CPU's
// registers, what to compare with, a pin of this step, and a click on a block (its bytes in the
// memory view, its owner in Watch, its registers below the picture). Hovering a block shows its
// offset, size, state and decoded registers.
// @ts-check
(function () {
  // eslint-disable-next-line no-undef
  const vscode = acquireVsCodeApi();
  const sides = /** @type {HTMLElement} */ (document.getElementById('sides'));
  const tip = /** @type {HTMLElement} */ (document.getElementById('tip'));
  const status = /** @type {HTMLElement} */ (document.getElementById('status'));
  const details = /** @type {HTMLElement} */ (document.getElementById('details'));
  const area = /** @type {HTMLSelectElement} */ (document.getElementById('area'));
  const format = /** @type {HTMLSelectElement} */ (document.getElementById('format'));
  const compare = /** @type {HTMLSelectElement} */ (document.getElementById('compare'));
  const send = (/** @type {Record<string, unknown>} */ m) => vscode.postMessage(m);
  const width = () => Math.max(240, Math.floor(document.body.clientWidth - 24));

  function options(/** @type {HTMLSelectElement} */ select, /** @type {Array<{id: string, title: string}>} */ items, /** @type {string} */ value) {
    select.textContent = '';
    for (const it of items) {
      const o = document.createElement('option');
      o.value = it.id;
      o.textContent = it.title;
      select.appendChild(o);
    }
    select.value = value;
  }

  window.addEventListener('message', (e) => {
    const m = e.data;
    if (m.type === 'render') {
      sides.textContent = '';
      m.sides.forEach((/** @type {string} */ svg, /** @type {number} */ i) => {
        const d = document.createElement('div');
        d.className = 'side';
        d.dataset.side = String(i);
        d.innerHTML = svg;
        sides.appendChild(d);
      });
      options(area, m.areas, m.area);
      format.value = m.format;
      format.disabled = !m.isCpu;
      options(compare, m.compareChoices, m.compare);
      status.textContent = m.status;
      status.className = 'status';
    } else if (m.type === 'status') {
      status.textContent = m.text;
      status.className = m.error ? 'status error' : 'status';
    } else if (m.type === 'details') {
      details.textContent = m.text;
      for (const g of sides.querySelectorAll('.lv-block.selected')) g.classList.remove('selected');
      const g = sides.querySelector(`.side[data-side="${m.side}"] .lv-block[data-name="${CSS.escape(m.name)}"]`);
      if (g) g.classList.add('selected');
    }
  });

  area.addEventListener('change', () => send({ type: 'select', area: area.value }));
  format.addEventListener('change', () => send({ type: 'format', format: format.value }));
  compare.addEventListener('change', () => send({ type: 'compare', compare: compare.value }));
  document.getElementById('pin')?.addEventListener('click', () => send({ type: 'pin' }));

  sides.addEventListener('click', (e) => {
    const g = e.target instanceof Element ? e.target.closest('.lv-block[data-name]') : null;
    const side = e.target instanceof Element ? e.target.closest('.side') : null;
    if (!g || !side) return;
    send({ type: 'open', side: Number(/** @type {HTMLElement} */ (side).dataset.side), name: g.getAttribute('data-name') });
  });
  sides.addEventListener('mousemove', (e) => {
    const t = e.target instanceof Element ? e.target.closest('[data-tip]') : null;
    if (!t) { tip.style.display = 'none'; return; }
    tip.textContent = t.getAttribute('data-tip');
    tip.style.display = 'block';
    const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
    const y = e.clientY + 18 + tip.offsetHeight > window.innerHeight ? e.clientY - tip.offsetHeight - 8 : e.clientY + 18;
    tip.style.left = `${Math.max(0, x)}px`;
    tip.style.top = `${Math.max(0, y)}px`;
  });
  sides.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(() => send({ type: 'resize', width: width() }), 150);
  });
  send({ type: 'ready', width: width() });
})();
