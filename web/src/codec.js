// The request/response encoding of wasm/ABI.md, shared by every JS host.
// A request is a concatenation of records `op:u8 flags:u8 when:uvarint field*`;
// a response is one `status:uvarint person:field body:field` per request record.
// Integers are unsigned LEB128, fields are `uvarint length` + UTF-8 bytes.
// This module frames bytes and refuses values of the wrong type (code 'invalid'); validating
// and cleaning the values is the wasm module's job.

import { RegistryError } from './errors.js';
import { describe } from './validate.js';

/** Op byte and field names of every action, in ABI order. */
export const ACTIONS = Object.freeze({
  hello: { op: 0x68, fields: [] },
  access: { op: 0x61, fields: ['person', 'machine', 'url', 'name'] },
  delete: { op: 0x64, fields: ['person', 'machine', 'url', 'deleteUrl'] },
  search: { op: 0x73, fields: ['person', 'machine', 'url', 'for'] },
  switch: { op: 0x77, fields: ['person', 'machine', 'url', 'to'] },
  stats: { op: 0x74, fields: [] },
  expire: { op: 0x78, fields: [] },
  config: { op: 0x63, fields: [] },
  check: { op: 0x6b, fields: [] },
  import: { op: 0x69, fields: ['db', 'log'] },
  export: { op: 0x65, fields: ['file'] },
  configure: { op: 0x75, fields: ['conf'] },
  top: { op: 0x6d, fields: ['limit'] },
});

/** flags bit 0: omit the `urls` list (and the whole body of `access`). */
export const FLAG_QUIET = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A growable byte buffer with uvarint and string writers. */
class Writer {
  #buf = new Uint8Array(256);
  #len = 0;

  /** @param {number} n */
  #reserve(n) {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** @param {number} b */
  byte(b) {
    this.#reserve(1);
    this.#buf[this.#len++] = b;
  }

  /** @param {number} v a non-negative safe integer */
  uvarint(v) {
    this.#reserve(8);
    while (v >= 0x80) {
      this.#buf[this.#len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[this.#len++] = v;
  }

  /** @param {string} s */
  string(s) {
    // A UTF-16 code unit becomes at most 3 UTF-8 bytes; write after a worst-case length prefix
    // would waste space, so encode first when the string is long, in place when it is short.
    if (s.length < 43) {
      this.#reserve(1 + s.length * 3);
      const at = this.#len + 1;
      const { written } = encoder.encodeInto(s, this.#buf.subarray(at));
      this.#buf[this.#len] = written; // < 128: one uvarint byte
      this.#len = at + written;
      return;
    }
    const bytes = encoder.encode(s);
    this.uvarint(bytes.length);
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  bytes() {
    return this.#buf.slice(0, this.#len);
  }
}

/** The largest `when` the ABI carries (a u32 of unix seconds: early 2106). */
const MAX_WHEN = 0xffffffff;

/**
 * @param {unknown} when seconds since the epoch, a Date, or empty for "now"
 * @returns {number}
 */
export function seconds(when) {
  if (when === undefined || when === null) return 0;
  const v = when instanceof Date ? Math.floor(when.getTime() / 1000) : when;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_WHEN) return v;
  const ms = typeof v === 'number' && Number.isInteger(v) && v > MAX_WHEN && v < 1e14;
  throw new RegistryError(
    'invalid',
    `when must be unix time in seconds (an integer 0 to ${MAX_WHEN}) or a Date, not ${describe(when)}` +
      (ms ? ': that looks like milliseconds (Date.now()); pass a Date or Math.floor(Date.now() / 1000)' : ''),
  );
}

/**
 * Encodes a batch of actions into one request.
 * @param {ReadonlyArray<{action: string, when?: number|Date, quiet?: boolean, [field: string]: unknown}>} actions
 * @returns {Uint8Array}
 */
export function encodeRequest(actions) {
  if (!Array.isArray(actions)) throw new RegistryError('invalid', `batch() takes an array of actions, not ${describe(actions)}`);
  const w = new Writer();
  for (const a of actions) {
    if (a === null || typeof a !== 'object') throw new RegistryError('invalid', `an action must be an object like {action: 'access', ...}, not ${describe(a)}`);
    const spec = Object.hasOwn(ACTIONS, a.action) ? ACTIONS[/** @type {keyof typeof ACTIONS} */ (a.action)] : undefined;
    if (!spec) throw new RegistryError('invalid', `unknown action ${describe(a.action)} (known: ${Object.keys(ACTIONS).join(', ')})`);
    if (a.quiet !== undefined && typeof a.quiet !== 'boolean') throw new RegistryError('invalid', `${a.action}: quiet must be true or false, not ${describe(a.quiet)}`);
    w.byte(spec.op);
    w.byte(a.quiet ? FLAG_QUIET : 0);
    w.uvarint(seconds(a.when));
    for (const f of spec.fields) {
      const v = a[f];
      if (v !== undefined && v !== null && typeof v !== 'string') throw new RegistryError('invalid', `${a.action}: ${f} must be a string, not ${describe(v)}`);
      w.string(v ?? '');
    }
  }
  return w.bytes();
}

/**
 * Splits a response batch into the responses of consecutive requests of `counts[i]`
 * records each (requests sent to the module together as one batch), copying each part.
 * @param {Uint8Array} bytes
 * @param {readonly number[]} counts
 * @returns {Uint8Array[]}
 */
export function splitResponse(bytes, counts) {
  let at = 0;
  const skip = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (at >= bytes.length) throw new RangeError('response: truncated uvarint');
      const b = bytes[at++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
  };
  return counts.map((n) => {
    const start = at;
    for (let i = 0; i < n; i++) {
      skip(); // status
      const person = skip();
      at += person;
      const body = skip();
      at += body;
    }
    if (at > bytes.length) throw new RangeError('response: truncated field');
    return bytes.slice(start, at);
  });
}

/**
 * @typedef {{status: number, person: string, body: string}} ResponseRecord
 */

/**
 * Decodes a response batch.
 * @param {Uint8Array} bytes
 * @returns {ResponseRecord[]}
 */
export function decodeResponse(bytes) {
  let at = 0;
  const uvarint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (at >= bytes.length) throw new RangeError('response: truncated uvarint');
      const b = bytes[at++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
      if (mul > 2 ** 56) throw new RangeError('response: uvarint overflow');
    }
  };
  const field = () => {
    const n = uvarint();
    if (at + n > bytes.length) throw new RangeError('response: truncated field');
    const s = decoder.decode(bytes.subarray(at, at + n));
    at += n;
    return s;
  };
  /** @type {ResponseRecord[]} */
  const out = [];
  while (at < bytes.length) {
    const status = uvarint();
    const person = field();
    const body = field();
    out.push({ status, person, body });
  }
  return out;
}

/**
 * A response record as the API returns it: the decoded JSON body, with `status` and `person`
 * from the record. The body's own `status` string ("ok", "failed", ...) moves to `statusText`.
 * @param {ResponseRecord} r
 * @returns {Record<string, unknown> & {status: number, person: string}}
 */
export function toResult(r) {
  /** @type {Record<string, unknown>} */
  const body = r.body === '' ? {} : JSON.parse(r.body);
  if ('status' in body) {
    body.statusText = body.status;
  }
  body.status = r.status;
  body.person = r.person;
  return /** @type {any} */ (body);
}
