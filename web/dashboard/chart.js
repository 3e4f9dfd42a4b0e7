// A small inline-SVG line chart of samples over time.
const NS = 'http://www.w3.org/2000/svg';

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

/**
 * Draws one polyline per series, each scaled to the common maximum, time on the x axis.
 * @param {SVGSVGElement} root viewBox 600x170
 * @param {number[][]} rows [t, ...values]
 * @param {{index: number, cls: string, color: string}[]} series
 */
export function renderChart(root, rows, series) {
  const W = 600;
  const H = 170;
  const L = 56;
  const R = 10;
  const T = 10;
  const B = 22;
  root.replaceChildren();
  root.append(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#8a93a0' }));
  root.append(svg('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#8a93a0' }));
  if (rows.length === 0) return;
  const t0 = rows[0][0];
  const t1 = Math.max(rows[rows.length - 1][0], t0 + 1);
  const max = Math.max(1, ...rows.flatMap((r) => series.map((s) => r[s.index] ?? 0)));
  const x = (/** @type {number} */ t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (/** @type {number} */ v) => H - B - (v / max) * (H - B - T);
  root.append(svg('text', { x: L - 4, y: T + 8, 'text-anchor': 'end', 'font-size': 10 }, max.toLocaleString()));
  root.append(svg('text', { x: L - 4, y: H - B, 'text-anchor': 'end', 'font-size': 10 }, '0'));
  root.append(svg('text', { x: L, y: H - 6, 'font-size': 10 }, new Date(t0).toLocaleTimeString()));
  root.append(svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end', 'font-size': 10 }, new Date(t1).toLocaleTimeString()));
  for (const s of series) {
    const pts = rows.map((r) => `${x(r[0]).toFixed(1)},${y(r[s.index] ?? 0).toFixed(1)}`);
    if (pts.length === 1) pts.push(`${(W - R).toFixed(1)},${pts[0].split(',')[1]}`);
    root.append(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2, class: `series ${s.cls}` }));
  }
}
