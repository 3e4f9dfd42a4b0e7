// netdata's 2016 "test1" registry workload (see registry/test1 for the Go port), at any scale,
// over a regwasm Registry: accesses in quiet batches, phase by phase. Plain ESM with no Node
// imports, so the same code runs in Node and in a page. The random choices come from a seeded
// xorshift, not Go's PCG: the shape matches, the exact sequence does not.

/** @param {number} seed */
function rng(seed) {
  let s = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  const next = () => {
    s ^= s << 13n;
    s = BigInt.asUintN(64, s);
    s ^= s >> 7n;
    s ^= BigInt.asUintN(64, s << 17n);
    return s;
  };
  return {
    /** @param {number} n */
    int: (n) => Number(next() % BigInt(n)),
    hex: () => next().toString(16).padStart(16, '0'),
  };
}

/**
 * @param {{batch: (actions: any[]) => Promise<any[]>, save: () => Promise<any>}} reg
 * @param {{persons?: number, machines?: number, batch?: number, rounds?: number, seed?: number, start?: number, onPhase?: (p: {name: string, requests: number, ms: number, perSecond: number}) => void}} [options]
 */
export async function test1(reg, { persons = 20000, machines = 4000, batch = 1000, rounds = 2, seed = 1, start = 1700000000, onPhase } = {}) {
  const r = rng(seed);
  const M = machines;
  const M2 = 2 * machines;
  const P = persons;
  const guids = Array.from({ length: M2 }, () => {
    const h = r.hex() + r.hex();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  });
  const urls = Array.from({ length: M2 }, (_, i) => `http://${i + 1}.netdata.rocks/`);
  /** @type {string[]} */
  const people = new Array(P).fill('');
  /** @type {{name: string, requests: number, ms: number, perSecond: number}[]} */
  const phases = [];
  let when = start;

  /**
   * @param {string} name
   * @param {number} n
   * @param {(i: number) => [number, number, string]} gen person index (-1: new), machine, url
   */
  async function phase(name, n, gen) {
    let ms = 0;
    for (let i = 0; i < n; ) {
      const first = i;
      const actions = [];
      for (; i < n && i - first < batch; i++) {
        const [p, m, url] = gen(i);
        actions.push({ action: 'access', person: p >= 0 ? people[p] : '', machine: guids[m], url, name: 'test1', when, quiet: true });
      }
      const t0 = performance.now();
      const res = await reg.batch(actions);
      ms += performance.now() - t0;
      for (let k = 0; k < res.length; k++) {
        if (res[k].status !== 200) throw new Error(`${name}: status ${res[k].status}: ${res[k].error ?? ''}`);
        if (people[first + k] === '' && name === 'new persons') people[first + k] = res[k].person;
      }
    }
    const p = { name, requests: n, ms, perSecond: (n / ms) * 1000 };
    phases.push(p);
    onPhase?.(p);
    when += 60;
  }

  await phase('new persons', P, (i) => [-1, (i + 1) % M, urls[(i + 1) % M]]);
  await phase('same machines', P, (i) => [i, (i + 1) % M, urls[(i + 1) % M]]);
  await phase('other machine', P, (i) => [i, (i + 2) % M, urls[(i + 2) % M]]);
  await phase('random 1x', P, () => {
    const m = r.int(M);
    return [r.int(P), m, urls[m]];
  });
  await phase('random 2x', P, () => {
    const m = r.int(M2);
    return [r.int(P), m, urls[m]];
  });
  for (let round = 1; round <= rounds; round++) {
    await phase(`mixed ${round}`, 2 * P, () => {
      const p = r.int(P);
      const m = r.int(M2);
      let url = urls[m];
      if (r.int(10000) === 1234) url = `http://random.${r.hex()}.netdata.rocks/`;
      else if (r.int(1000) === 123) url = urls[r.int(M2)];
      return [p, m, url];
    });
  }
  const t0 = performance.now();
  const saved = await reg.save();
  return { phases, save: { ms: performance.now() - t0, ...saved } };
}
