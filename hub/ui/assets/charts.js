// Inline SVG charts for the hub dashboard's reports. No library, nothing from
// elsewhere (CSP default-src 'self'). Text goes in with textContent only.
//
// window.TerrilCharts.stackedBars({ rows, series, testid, title })
//   rows:   [{ label, values: [n per series] }]
//   series: [{ label, color }]
//   -> <svg role="img"> with one horizontal stacked bar per row and its total,
//      a <title> per segment, and data-total on each bar group.
// window.TerrilCharts.attendanceBars({ rows, testid, title })
//   rows: [{ label, registered, attended, capacity|null }]
//   -> two bars per row (registered, attended) and a tick at the capacity.
// window.TerrilCharts.legend(series) -> <ul class="legend">.
'use strict';

(function () {
  const NS = 'http://www.w3.org/2000/svg';
  const WIDTH = 900;
  const LABEL_W = 260;
  const VALUE_W = 60;

  function el(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  function clip(label, max) {
    const s = String(label || '');
    return s.length > max ? s.slice(0, max - 1) + '…' : s;
  }

  // A round maximum for the scale: 4 grid steps of 1, 2 or 5 x 10^n, so
  // every grid label is a whole number.
  function niceMax(v) {
    if (v <= 4) return 4;
    const raw = v / 4;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return 4 * m * p;
    return 40 * p;
  }

  function frame(height, title, testid) {
    const svg = el('svg', {
      viewBox: '0 0 ' + WIDTH + ' ' + height, class: 'chart', role: 'img',
      'aria-label': title, 'data-testid': testid, preserveAspectRatio: 'xMinYMin meet',
    });
    svg.append(el('title', {}, title));
    return svg;
  }

  function grid(svg, top, bottom, max) {
    const plotW = WIDTH - LABEL_W - VALUE_W;
    for (let i = 0; i <= 4; i++) {
      const x = LABEL_W + (plotW * i) / 4;
      svg.append(el('line', { x1: x, x2: x, y1: top, y2: bottom, class: i === 0 ? 'axis' : 'grid' }));
      svg.append(el('text', { x: x, y: bottom + 14, 'font-size': 11, 'text-anchor': 'middle' }, Math.round((max * i) / 4)));
    }
  }

  function stackedBars(opts) {
    const rows = opts.rows || [];
    const series = opts.series || [];
    const barH = 18, gap = 8, top = 8;
    const height = top + rows.length * (barH + gap) + 24;
    const svg = frame(height, opts.title || '', opts.testid || 'chart');
    const totals = rows.map((r) => r.values.reduce((a, b) => a + b, 0));
    const max = niceMax(Math.max(0, ...totals));
    const plotW = WIDTH - LABEL_W - VALUE_W;
    grid(svg, top - 4, top + rows.length * (barH + gap), max);
    rows.forEach((r, i) => {
      const y = top + i * (barH + gap);
      const g = el('g', { 'data-label': r.label, 'data-total': totals[i] });
      g.append(el('text', { x: LABEL_W - 8, y: y + barH - 4, 'font-size': 13, 'text-anchor': 'end' }, clip(r.label, 34)));
      let x = LABEL_W;
      r.values.forEach((v, s) => {
        if (!v) return;
        const w = (plotW * v) / max;
        const rect = el('rect', { x: x, y: y, width: Math.max(w, 1), height: barH, fill: series[s].color });
        rect.append(el('title', {}, r.label + ' — ' + series[s].label + ' : ' + v));
        g.append(rect);
        x += w;
      });
      g.append(el('text', { x: x + 6, y: y + barH - 4, 'font-size': 13 }, totals[i]));
      svg.append(g);
    });
    return svg;
  }

  function attendanceBars(opts) {
    const rows = opts.rows || [];
    const barH = 11, gap = 12, top = 8;
    const rowH = 2 * barH + gap;
    const height = top + rows.length * rowH + 24;
    const svg = frame(height, opts.title || '', opts.testid || 'chart');
    // Scaled on the people and on the capacities of the same order; a
    // capacity far beyond (a 300-place temps fort among workshops) is drawn at
    // the edge with its number, so that it does not flatten the rest.
    const people = Math.max(0, ...rows.map((r) => Math.max(r.registered, r.attended)));
    const near = rows.map((r) => r.capacity || 0).filter((c) => c <= 3 * Math.max(people, 4));
    const max = niceMax(Math.max(people, ...near));
    const plotW = WIDTH - LABEL_W - VALUE_W;
    grid(svg, top - 4, top + rows.length * rowH, max);
    rows.forEach((r, i) => {
      const y = top + i * rowH;
      const g = el('g', { 'data-label': r.label, 'data-registered': r.registered, 'data-attended': r.attended });
      g.append(el('text', { x: LABEL_W - 8, y: y + barH + 4, 'font-size': 13, 'text-anchor': 'end' }, clip(r.label, 34)));
      const bars = [[r.registered, '#0b4f8a', 'inscrits'], [r.attended, '#2e7d32', 'présents']];
      bars.forEach(([v, color, what], k) => {
        const w = (plotW * v) / max;
        const rect = el('rect', { x: LABEL_W, y: y + k * barH, width: Math.max(w, v ? 1 : 0), height: barH - 1, fill: color });
        rect.append(el('title', {}, r.label + ' — ' + v + ' ' + what));
        g.append(rect);
        g.append(el('text', { x: LABEL_W + w + 4, y: y + k * barH + barH - 2, 'font-size': 10 }, v));
      });
      if (r.capacity !== null && r.capacity !== undefined) {
        const beyond = r.capacity > max;
        const x = LABEL_W + (plotW * Math.min(r.capacity, max)) / max;
        const tick = el('line', { x1: x, x2: x, y1: y - 2, y2: y + 2 * barH + 1, stroke: '#a4161a', 'stroke-width': 3, 'stroke-dasharray': beyond ? '3 2' : 'none' });
        tick.append(el('title', {}, r.label + ' — ' + r.capacity + ' places'));
        g.append(tick);
        if (beyond) g.append(el('text', { x: x + 6, y: y + barH + 4, 'font-size': 11, fill: '#a4161a' }, r.capacity + ' places ›'));
      }
      svg.append(g);
    });
    return svg;
  }

  function legend(series) {
    const ul = document.createElement('ul');
    ul.className = 'legend';
    for (const s of series) {
      const li = document.createElement('li');
      const sw = document.createElementNS(NS, 'svg');
      sw.setAttribute('class', 'swatch');
      sw.setAttribute('viewBox', '0 0 10 10');
      sw.setAttribute('aria-hidden', 'true');
      sw.append(el('rect', { width: 10, height: 10, fill: s.color }));
      li.append(sw, document.createTextNode(s.label));
      ul.append(li);
    }
    return ul;
  }

  window.TerrilCharts = { stackedBars, attendanceBars, legend };
})();
