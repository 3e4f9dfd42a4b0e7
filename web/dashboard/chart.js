// Small inline-SVG line charts of samples over time. The SVG scales to its container's width
// (viewBox, width 100%); series that coincide stay visible: each has its own dash pattern and
// width, the later drawn thinner on top, and the legend gives each one's latest value.
const NS = 'http://www.w3.org/2000/svg';

/** Dash patterns by series order: solid, dashed, dotted, dash-dot. */
const DASHES = ['', '7 4', '2 3', '8 3 2 3'];

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {string} [text]
 */
function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** @param {number} v */
export function compact(v) {
  if (v >= 1e9) return `${(v / 1e9).toFixed(v >= 1e10 ? 0 : 1)}G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(v >= 1e5 ? 0 : 1)}K`;
  return v.toLocaleString();
}

/**
 * Draws one polyline per series, all on the scale of their common maximum, time on the x axis.
 * @param {SVGSVGElement} root an <svg> with viewBox "0 0 W H"
 * @param {number[][]} rows [t (ms), ...values]
 * @param {{index: number, cls: string, color: string, label: string}[]} series
 * @param {HTMLElement} [legend] filled with each series' latest value
 */
export function renderChart(root, rows, series, legend) {
  const [, , W, H] = (root.getAttribute('viewBox') ?? '0 0 380 150').split(/\s+/).map(Number);
  const L = 44;
  const R = 8;
  const T = 8;
  const B = 20;
  root.replaceChildren();
  root.append(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#8a93a0' }));
  root.append(svg('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#8a93a0' }));
  legend?.replaceChildren();
  if (rows.length === 0) {
    root.append(svg('text', { x: (L + W - R) / 2, y: H / 2, 'text-anchor': 'middle', 'font-size': 11, fill: '#5b6472' }, 'no samples yet'));
    return;
  }
  const t0 = rows[0][0];
  const t1 = Math.max(rows[rows.length - 1][0], t0 + 1);
  const max = Math.max(1, ...rows.flatMap((r) => series.map((s) => r[s.index] ?? 0)));
  const x = (/** @type {number} */ t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (/** @type {number} */ v) => H - B - (v / max) * (H - B - T);
  root.append(svg('text', { x: L - 4, y: T + 8, 'text-anchor': 'end', 'font-size': 10 }, compact(max)));
  root.append(svg('text', { x: L - 4, y: H - B, 'text-anchor': 'end', 'font-size': 10 }, '0'));
  root.append(svg('text', { x: L, y: H - 5, 'font-size': 10 }, new Date(t0).toLocaleTimeString()));
  root.append(svg('text', { x: W - R, y: H - 5, 'text-anchor': 'end', 'font-size': 10 }, new Date(t1).toLocaleTimeString()));
  series.forEach((s, k) => {
    const pts = rows.map((r) => `${x(r[0]).toFixed(1)},${y(r[s.index] ?? 0).toFixed(1)}`);
    if (pts.length === 1) pts.push(`${(W - R).toFixed(1)},${pts[0].split(',')[1]}`);
    const attrs = { points: pts.join(' '), fill: 'none', stroke: s.color, 'stroke-width': Math.max(1.5, 3.5 - k), class: `series ${s.cls}` };
    if (DASHES[k % DASHES.length]) Object.assign(attrs, { 'stroke-dasharray': DASHES[k % DASHES.length] });
    root.append(svg('polyline', attrs));
    if (legend) {
      const last = rows[rows.length - 1][s.index] ?? 0;
      const key = document.createElement('span');
      key.className = `key ${s.cls}`;
      key.style.setProperty('--color', s.color);
      key.dataset.dash = String(k % DASHES.length);
      key.textContent = `${s.label} ${last.toLocaleString()}`;
      legend.append(key);
    }
  });
}
