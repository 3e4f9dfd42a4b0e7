// netdata's 2016 "test1" registry workload, an exact port of registry/test1 (Go): the same
// random generator (xoshiro128** seeded by splitmix32, 32-bit arithmetic, no BigInt), the same
// draws in the same order, the same request batches byte for byte. Every host, Go or JS, thus
// sends the same requests and must end with the same counts; tests/bench/test1-fixture.json
// pins both ports (registry/test1/fixture_test.go, tests/web/bench-workload.test.mjs).
// Plain ESM with no imports: it runs in Node and in a page.

const TWO32 = 0x100000000;

/** @param {number} x @param {number} k */
const rotl = (x, k) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** The workload's random source (registry/test1/rand.go). */
export class Rand {
  /** @param {number} seed 32 bits */
  constructor(seed) {
    this.s = new Uint32Array(4);
    let w = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      w = (w + 0x9e3779b9) >>> 0;
      let z = w;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = z ^ (z >>> 16);
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** The next output, 0 <= x < 2^32. */
  uint32() {
    const s = this.s;
    const out = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return out;
  }

  /**
   * Uniform in [0, n), 0 < n < 2^32: Lemire's multiply-shift with rejection, as in Go.
   * @param {number} n
   */
  intN(n) {
    if (!Number.isInteger(n) || n <= 0 || n >= TWO32) throw new RangeError(`intN: ${n} out of range`);
    let x = this.uint32();
    let lo = Math.imul(x, n) >>> 0; // the low 32 bits of x*n
    if (lo < n) {
      const threshold = (TWO32 - n) % n;
      while (lo < threshold) {
        x = this.uint32();
        lo = Math.imul(x, n) >>> 0;
      }
    }
    // The high 32 bits of x*n, exactly: x*n = a*2^16 + b with a, b < 2^48.
    const a = x * (n >>> 16);
    const b = x * (n & 0xffff);
    const ah = Math.floor(a / 65536);
    return ah + Math.floor(((a - ah * 65536) * 65536 + b) / TWO32);
  }
}

/** @param {Uint8Array} g 16 bytes @returns {string} the canonical lower-case GUID */
function guidString(g) {
  let h = '';
  for (const b of g) h += b.toString(16).padStart(2, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * @typedef {{persons: number, machines: number, batch?: number, rounds?: number, seed?: number, start?: number}} Options
 * @typedef {{person: number, machine: number, url: string}} Request person -1: a new person
 * @typedef {{name: string, n: number, when: number, next: (i: number, out: Request) => void}} Spec
 */

/** netdata's full size. */
export const FULL = Object.freeze({ persons: 1_000_000, machines: 200_000 });

/**
 * The request stream of test1 (Go's test1.New): machines first, then the phases, whose random
 * draws share one generator (run them in order, each in full).
 * @param {Options} options
 */
export function workload({ persons, machines, batch = 1000, rounds = 10, seed = 1, start = 0 }) {
  for (const [k, v] of Object.entries({ persons, machines, batch, rounds })) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`test1: ${k} must be a positive integer, not ${v}`);
  }
  if (!start) start = Math.floor(Date.now() / 1000);
  const rnd = new Rand(seed);
  const M = machines;
  const M2 = 2 * machines;
  const P = persons;
  /** @type {string[]} */
  const guids = [];
  /** @type {string[]} */
  const urls = [];
  const g = new Uint8Array(16);
  const view = new DataView(g.buffer);
  for (let i = 0; i < M2; i++) {
    for (let k = 0; k < 16; k += 4) view.setUint32(k, rnd.uint32());
    g[6] = (g[6] & 0x0f) | 0x40;
    g[8] = (g[8] & 0x3f) | 0x80;
    guids.push(guidString(g));
    urls.push(`http://${i + 1}.netdata.rocks/`);
  }
  /** @type {Spec[]} */
  const phases = [];
  /** @param {string} name @param {number} n @param {Spec['next']} next */
  const add = (name, n, next) => phases.push({ name, n, when: start + 60 * phases.length, next });
  /** @param {Request} out @param {number} p @param {number} m @param {string} url */
  const set = (out, p, m, url) => {
    out.person = p;
    out.machine = m;
    out.url = url;
  };
  add('new persons', P, (i, o) => set(o, -1, (i + 1) % M, urls[(i + 1) % M]));
  add('same machines', P, (i, o) => set(o, i, (i + 1) % M, urls[(i + 1) % M]));
  add('other machine', P, (i, o) => set(o, i, (i + 2) % M, urls[(i + 2) % M]));
  // Draw order, as in Go: the machine, then the person.
  add('random 1x', P, (_, o) => {
    const m = rnd.intN(M);
    set(o, rnd.intN(P), m, urls[m]);
  });
  add('random 2x', P, (_, o) => {
    const m = rnd.intN(M2);
    set(o, rnd.intN(P), m, urls[m]);
  });
  for (let round = 1; round <= rounds; round++) {
    add(`mixed ${round}`, 2 * P, (_, o) => {
      const p = rnd.intN(P);
      const m = rnd.intN(M2);
      let url = urls[m];
      if (rnd.intN(10000) === 1234) url = `http://random.${rnd.uint32()}.netdata.rocks/`;
      else if (rnd.intN(1000) === 123) url = urls[rnd.intN(M2)];
      set(o, p, m, url);
    });
  }
  return { options: { persons, machines, batch, rounds, seed, start }, machines: guids, urls, phases };
}

const encoder = new TextEncoder();

/** Builds request batches (wasm/ABI.md) of quiet accesses, as Go's test1.AppendAccess. */
export class BatchWriter {
  buf = new Uint8Array(1 << 16);
  len = 0;

  /** @param {number} n */
  #reserve(n) {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(2 * this.buf.length, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** @param {number} v */
  #uvarint(v) {
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  /** @param {string} s */
  #field(s) {
    this.#reserve(10 + 3 * s.length);
    const at = this.len;
    this.#uvarint(s.length); // reserve the length's bytes as if ASCII, then check
    const { written } = encoder.encodeInto(s, this.buf.subarray(this.len));
    if (written !== s.length) {
      this.len = at;
      this.#uvarint(written);
      encoder.encodeInto(s, this.buf.subarray(this.len));
    }
    this.len += written;
  }

  /** @param {number} when @param {string} person @param {string} machine @param {string} url */
  access(when, person, machine, url) {
    this.#reserve(12);
    this.buf[this.len++] = 0x61; // 'a'
    this.buf[this.len++] = 1; // quiet
    this.#uvarint(when);
    this.#field(person);
    this.#field(machine);
    this.#field(url);
    this.#field('test1');
  }

  /** The batch so far, as a new buffer (transferable), and a fresh start. */
  take() {
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    return out;
  }
}

/**
 * The person GUIDs of a response batch (status, person, body per record), in order; throws
 * unless every status is 200.
 * @param {Uint8Array} bytes
 * @returns {string[]}
 */
export function responsePersons(bytes) {
  let at = 0;
  const uvarint = () => {
    let v = 0;
    for (let mul = 1; ; mul *= 0x80) {
      if (at >= bytes.length) throw new RangeError('response: truncated');
      const b = bytes[at++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
    }
  };
  /** @type {string[]} */
  const out = [];
  const decoder = new TextDecoder();
  while (at < bytes.length) {
    const status = uvarint();
    const n = uvarint();
    const person = decoder.decode(bytes.subarray(at, at + n));
    at += n;
    const body = uvarint();
    if (status !== 200) throw new Error(`status ${status}: ${decoder.decode(bytes.subarray(at, at + body))}`);
    at += body;
    out.push(person);
  }
  return out;
}

/**
 * @typedef {{name: string, requests: number, batches: number, seconds: number, per_second: number}} PhaseResult
 */

/**
 * Runs test1 through `call` (request batch bytes in, response batch bytes out, sync or async),
 * timing only the calls, as Go's test1.Run does.
 * @param {(bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>} call
 * @param {Options} options
 * @param {(p: PhaseResult) => void} [onPhase]
 * @returns {Promise<PhaseResult[]>}
 */
export async function run(call, options, onPhase) {
  const w = workload(options);
  const { batch } = w.options;
  /** @type {string[]} */
  const persons = new Array(w.options.persons).fill('');
  const writer = new BatchWriter();
  /** @type {Request} */
  const r = { person: 0, machine: 0, url: '' };
  /** @type {PhaseResult[]} */
  const results = [];
  for (const s of w.phases) {
    let ms = 0;
    let batches = 0;
    for (let i = 0; i < s.n; ) {
      const first = i;
      let fresh = false;
      for (; i < s.n && i - first < batch; i++) {
        s.next(i, r);
        if (r.person < 0) fresh = true;
        writer.access(s.when, r.person < 0 ? '' : persons[r.person], w.machines[r.machine], r.url);
      }
      const bytes = writer.take();
      const t0 = performance.now();
      let out = call(bytes);
      if (out instanceof Promise) out = await out;
      ms += performance.now() - t0;
      batches++;
      if (fresh) {
        const got = responsePersons(out);
        if (got.length !== i - first) throw new Error(`test1: ${s.name}: ${got.length} responses for ${i - first} requests`);
        for (let k = 0; k < got.length; k++) persons[first + k] = got[k];
      }
    }
    const p = { name: s.name, requests: s.n, batches, seconds: ms / 1000, per_second: (s.n / ms) * 1000 };
    results.push(p);
    onPhase?.(p);
  }
  return results;
}
