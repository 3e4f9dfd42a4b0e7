// The conformance runner's browser-safe half: runs compiled operations (see vectors.mjs) on a
// host and collects what it answered. Node runs it in-process; Chromium runs it in a page
// (page-host.mjs), so it uses nothing but the web platform.

/**
 * @typedef {{kind: 'open', seed: string, now: number, fresh: boolean}
 *   | {kind: 'request', bytes: Uint8Array}
 *   | {kind: 'save'} | {kind: 'load'}
 *   | {kind: 'put', file: string, bytes: Uint8Array}
 *   | {kind: 'get', file: string}} Op
 * What a host is asked to do; `seed` is a decimal string (it may not fit a JS number).
 *
 * @typedef {{value?: unknown, error?: {code: string, message: string}}} Outcome
 * `value`: request -> the response batch (Uint8Array); save, load, open -> the module's JSON
 * answer (parsed), or null when the host does not expose it; get -> the bytes or null when
 * the file does not exist; put -> null.
 *
 * @typedef {object} Host
 * @property {(seed: string, now: number, fresh: boolean) => Promise<unknown>} open
 * @property {(bytes: Uint8Array) => Promise<Uint8Array>} request
 * @property {() => Promise<unknown>} save
 * @property {() => Promise<unknown>} load
 * @property {(file: string, bytes: Uint8Array) => Promise<void>} put
 * @property {(file: string) => Promise<Uint8Array | null>} get
 * @property {() => Promise<void>} close
 */

/**
 * Runs ops on host in order; a call that fails records its error and the run goes on (the
 * checker reports the first difference).
 * @param {Host} host
 * @param {Op[]} ops
 * @returns {Promise<Outcome[]>}
 */
export async function execute(host, ops) {
  /** @type {Outcome[]} */
  const out = [];
  try {
    for (const op of ops) {
      try {
        out.push({ value: await run(host, op) });
      } catch (err) {
        const e = /** @type {any} */ (err);
        out.push({ error: { code: String(e?.code ?? 'exception'), message: String(e?.message ?? e) } });
      }
    }
  } finally {
    await host.close();
  }
  return out;
}

/**
 * @param {Host} host
 * @param {Op} op
 */
function run(host, op) {
  switch (op.kind) {
    case 'open':
      return host.open(op.seed, op.now, op.fresh);
    case 'request':
      return host.request(op.bytes.slice()); // hosts may transfer the buffer away
    case 'save':
      return host.save();
    case 'load':
      return host.load();
    case 'put':
      return host.put(op.file, op.bytes.slice()).then(() => null);
    case 'get':
      return host.get(op.file);
  }
  throw new Error(`unknown op ${JSON.stringify(op)}`);
}

// Bytes cross into and out of the page as base64 (page.evaluate passes JSON).

/** @param {Uint8Array} bytes */
export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** @param {string} b64 */
export function fromBase64(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * Ops or outcomes with every Uint8Array as {b64} (and back), for page.evaluate.
 * @param {unknown} v
 * @returns {any}
 */
export function pack(v) {
  if (v instanceof Uint8Array) return { b64: toBase64(v) };
  if (Array.isArray(v)) return v.map(pack);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, pack(x)]));
  return v;
}

/**
 * @param {unknown} v
 * @returns {any}
 */
export function unpack(v) {
  if (Array.isArray(v)) return v.map(unpack);
  if (v && typeof v === 'object') {
    const o = /** @type {Record<string, unknown>} */ (v);
    if (typeof o.b64 === 'string' && Object.keys(o).length === 1) return fromBase64(o.b64);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unpack(x)]));
  }
  return v;
}
