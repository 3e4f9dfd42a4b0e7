// The conformance runner's Node half: reads the vector files (FORMAT.md), compiles each into
// the operations a host runs (exec.mjs) and checks what the host answered against the
// vector's expectations, byte for byte. It implements the same format as vector.go,
// encode.go and runner.go; the Go tests and this file read the same data.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** @typedef {import('./exec.mjs').Op} Op */
/** @typedef {import('./exec.mjs').Outcome} Outcome */

/**
 * What an op's outcome must be: `records` (a request's responses) or `error` (a call failed
 * whole), `answer` (save, load, open: parsed JSON; undefined when not checked), `bytes` (get:
 * null for a file that must not exist).
 * @typedef {{step: number, records?: {status: number, person: string, body: Uint8Array}[],
 *   error?: {code: string, message: string}, answer?: unknown, bytes?: Uint8Array | null}} Expect
 * @typedef {{name: string, path: string, ops: Op[], expects: Expect[], steps: any[]}} Compiled
 */

const MASK = (1n << 64n) - 1n;
const encoder = new TextEncoder();

/** Op codes and fields of the actions, in ABI order (wasm/ABI.md). */
const ACTIONS = {
  hello: ['h', []],
  stats: ['t', []],
  expire: ['x', []],
  config: ['c', []],
  check: ['k', []],
  access: ['a', ['person', 'machine', 'url', 'name']],
  delete: ['d', ['person', 'machine', 'url', 'delete_url']],
  search: ['s', ['person', 'machine', 'url', 'for']],
  switch: ['w', ['person', 'machine', 'url', 'to']],
  import: ['i', ['db', 'log']],
  export: ['e', ['file']],
  configure: ['u', ['conf']],
};

/**
 * The vector files of dir (*.json), in name order.
 * @param {string} dir
 * @param {RegExp} [only] file names to take
 */
export function vectorFiles(dir, only = /\.json$/) {
  return readdirSync(dir)
    .filter((n) => only.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/** @param {string} hex */
function hexBytes(hex) {
  const s = hex.replace(/\s+/g, '');
  if (s.length % 2 || /[^0-9a-f]/i.test(s)) throw new Error(`not hex: ${hex.slice(0, 40)}`);
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/**
 * Reads hexdump.go's format: offset, bytes as hex pairs, then |text|; '#' lines are comments.
 * @param {string} text
 */
export function parseHexDump(text) {
  /** @type {number[]} */
  const out = [];
  for (const [no, raw] of text.split('\n').entries()) {
    if (raw === '' || raw.startsWith('#')) continue;
    const bar = raw.indexOf('|');
    const f = (bar >= 0 ? raw.slice(0, bar) : raw).trim().split(/\s+/);
    if (f[0].length !== 8 || parseInt(f[0], 16) !== out.length) throw new Error(`hex dump line ${no + 1}: offset ${f[0]}, want ${out.length}`);
    for (const p of f.slice(1)) {
      if (!/^[0-9a-f]{2}$/i.test(p)) throw new Error(`hex dump line ${no + 1}: ${p} is not a byte`);
      out.push(parseInt(p, 16));
    }
  }
  return Uint8Array.from(out);
}

/**
 * A request field: a string ("$name": a bound person) or parts (strings, [string, count],
 * {hex}) concatenated literally.
 * @param {unknown} field
 * @param {Map<string, string>} vars
 */
function fieldBytes(field, vars) {
  if (field === undefined || field === null) return new Uint8Array(0);
  if (typeof field === 'string') {
    if (!field.startsWith('$')) return encoder.encode(field);
    const v = vars.get(field.slice(1));
    if (v === undefined) throw new Error(`no person is bound to ${field}`);
    return encoder.encode(v);
  }
  if (!Array.isArray(field)) throw new Error(`field ${JSON.stringify(field)}: want a string or parts`);
  /** @type {Uint8Array[]} */
  const parts = field.map((p) => {
    if (typeof p === 'string') return encoder.encode(p);
    if (Array.isArray(p) && p.length === 2) return encoder.encode(String(p[0]).repeat(Number(p[1])));
    if (p && typeof p.hex === 'string') return hexBytes(p.hex);
    throw new Error(`part ${JSON.stringify(p)}: want a string, [string, count] or {hex}`);
  });
  return concat(parts);
}

/** @param {Uint8Array[]} parts */
function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** @param {number} v @param {number[]} out */
function uvarint(v, out) {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/**
 * One action's request record.
 * @param {any} a
 * @param {Map<string, string>} vars
 */
function record(a, vars) {
  const spec = /** @type {Record<string, [string, string[]]>} */ (ACTIONS)[a.do];
  if (!spec) throw new Error(`${a.do} is not an action`);
  /** @type {number[]} */
  const head = [spec[0].charCodeAt(0), a.flags ?? (a.quiet ? 1 : 0)];
  uvarint(a.when ?? 0, head);
  /** @type {Uint8Array[]} */
  const parts = [Uint8Array.from(head)];
  for (const name of spec[1]) {
    const f = name === 'file' ? [a.file ?? ''] : a[name]; // export's file is literal
    const b = fieldBytes(f, vars);
    /** @type {number[]} */
    const len = [];
    uvarint(b.length, len);
    parts.push(Uint8Array.from(len), b);
  }
  return concat(parts);
}

/**
 * Reads a vector file and compiles it: persons bound with "bind" take the values the vector
 * expects (a host that answers another person fails at that step anyway).
 * @param {string} path
 * @returns {Compiled}
 */
export function compile(path) {
  const v = JSON.parse(readFileSync(path, 'utf8'));
  const dir = dirname(path);
  const data = (/** @type {string} */ p) => {
    const buf = readFileSync(join(dir, p));
    return p.endsWith('.hex') ? parseHexDump(buf.toString('latin1')) : new Uint8Array(buf);
  };
  /** @type {Map<string, string>} */
  const vars = new Map();
  /** @type {Op[]} */
  const ops = [];
  /** @type {Expect[]} */
  const expects = [];
  let opens = 0;
  let now = v.now;
  const open = (/** @type {boolean} */ fresh, /** @type {number} */ step, /** @type {string} */ answer) => {
    const seed = ((BigInt(v.seed) + BigInt(opens++)) & MASK).toString();
    ops.push({ kind: 'open', seed, now, fresh });
    expects.push({ step, answer: answer ? JSON.parse(answer) : undefined });
  };
  open(true, 0, '');
  v.steps.forEach((/** @type {any} */ s, /** @type {number} */ i) => {
    const step = i + 1;
    switch (s.do) {
      case 'save': {
        ops.push({ kind: 'save' });
        expects.push({ step, answer: JSON.parse(s.answer) });
        ops.push({ kind: 'get', file: JSON.parse(s.answer).file });
        expects.push({ step, bytes: data(s.snapshot) });
        return;
      }
      case 'load':
        ops.push({ kind: 'load' });
        expects.push({ step, answer: JSON.parse(s.answer) });
        return;
      case 'reopen':
      case 'fresh':
        if (s.now !== undefined) now = s.now;
        open(s.do === 'fresh', step, s.answer);
        return;
      case 'put':
        ops.push({ kind: 'put', file: s.file, bytes: data(s.from) });
        expects.push({ step });
        return;
      case 'get':
        ops.push({ kind: 'get', file: s.file });
        expects.push({ step, bytes: s.absent ? null : data(s.contents) });
        return;
    }
    const actions = s.do === 'batch' ? s.actions : [s];
    const bytes = concat(actions.map((/** @type {any} */ a) => (a.raw_hex ? hexBytes(a.raw_hex) : record(a, vars))));
    ops.push({ kind: 'request', bytes });
    if (s.expect_error) {
      expects.push({ step, error: s.expect_error });
      return;
    }
    const want = s.do === 'batch' ? s.expect_all : [s.expect];
    const bound = actions.filter((/** @type {any} */ a) => !a.raw_hex);
    want.forEach((/** @type {any} */ r, /** @type {number} */ k) => {
      if (bound[k]?.bind) vars.set(bound[k].bind, r.person ?? '');
    });
    expects.push({
      step,
      records: want.map((/** @type {any} */ r) => ({
        status: r.status,
        person: r.person ?? '',
        body: r.body_hex ? hexBytes(r.body_hex) : encoder.encode(r.body ?? ''),
      })),
    });
  });
  return { name: v.name, path, ops, expects, steps: v.steps };
}

/**
 * Splits a response batch into records, bodies as bytes (never decoded: a body may hold
 * invalid UTF-8, passed through by the module).
 * @param {Uint8Array} data
 */
export function decodeRecords(data) {
  let at = 0;
  const uv = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (at >= data.length) throw new Error('response: truncated uvarint');
      const b = data[at++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
  };
  const field = () => {
    const n = uv();
    if (at + n > data.length) throw new Error('response: truncated field');
    return data.subarray((at += n) - n, at);
  };
  const out = [];
  while (at < data.length) {
    const status = uv();
    const person = new TextDecoder().decode(field());
    out.push({ status, person, body: field() });
  }
  return out;
}

/**
 * Checks every outcome against the compiled expectations; throws at the first difference,
 * naming the vector's step.
 * @param {Compiled} c
 * @param {Outcome[]} outcomes
 */
export function check(c, outcomes) {
  assert.equal(outcomes.length, c.ops.length, `${c.name}: ${outcomes.length} outcomes for ${c.ops.length} operations`);
  c.expects.forEach((e, i) => {
    const o = outcomes[i];
    const where = `${c.name}, step ${e.step} (${e.step ? c.steps[e.step - 1].do : 'open'})`;
    if (e.error) {
      assert.deepEqual(o.error, e.error, `${where}: want the error ${e.error.code}: ${e.error.message}`);
      return;
    }
    assert.equal(o.error, undefined, `${where}: failed: ${o.error?.code}: ${o.error?.message}`);
    if (e.records) {
      const got = decodeRecords(/** @type {Uint8Array} */ (o.value));
      assert.equal(got.length, e.records.length, `${where}: ${got.length} responses, want ${e.records.length}`);
      got.forEach((r, k) => {
        const w = e.records[k];
        const show = (/** @type {{status: number, person: string, body: Uint8Array}} */ x) =>
          `${x.status} ${x.person} ${Buffer.from(x.body).toString('utf8')}`;
        assert.ok(r.status === w.status && r.person === w.person && Buffer.from(r.body).equals(w.body),
          `${where}, response ${k + 1}:\n  got  ${show(r)}\n  want ${show(w)}`);
      });
    } else if ('bytes' in e) {
      const got = /** @type {Uint8Array | null} */ (o.value);
      if (e.bytes === null || got === null) {
        assert.equal(got === null, e.bytes === null, `${where}: file ${got === null ? 'missing' : 'present'}`);
      } else {
        assert.ok(Buffer.from(got).equals(e.bytes), `${where}: ${got.length} bytes differ from the expected ${e.bytes.length}`);
      }
    } else if (e.answer !== undefined && o.value !== null) {
      assert.deepEqual(o.value, e.answer, `${where}: answer`);
    }
  });
}
