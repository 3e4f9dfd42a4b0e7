// The Node host's calls: throughput (accesses/s) and the event loop's lag while they run,
// for each engine (worker thread, inline) and storage (a directory, memory).
//   node tests/web/bench-node.mjs [--n 2000] [--batch 20000] [--runs 3] [--json FILE]
//                                 [--engines worker,inline] [--dir DIR (default: a temp dir)]
// The process is warmed first (a memory registry per engine: 3000 sequential, 3000 concurrent
// accesses and a batch). Phases, each on a fresh registry warmed by 300 sequential and 300
// concurrent accesses: `sequential` (n awaited accesses, one after another),
// `Promise.all` (n accesses at once), `batch` (one batch() of --batch accesses), `save`
// (a snapshot after the batch). Each access is a new person (quiet) on one of 500 machines.
// Lag: a 1 ms interval timer runs during the phase; each gap between its callbacks beyond
// 1 ms is lag (p99 and max over the gaps): how long any other work of the process (an HTTP
// request, a timer) waits behind the calls.
// Runs alternate the engines (A/B, B/A, ...) and the figures are medians.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { openRegistry } from '../../dist/node.js';
import { OUT } from './helpers.mjs';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    json: { type: 'string', default: join(OUT, 'bench-node.json') },
    dir: { type: 'string' },
    engines: { type: 'string', default: 'worker,inline' },
  },
});
const N = Number(args.n);
const BATCH = Number(args.batch);
const RUNS = Number(args.runs);
/** Accesses each fresh registry makes before a phase (sequential, then at once). */
const WARM = 300;
const base = args.dir ?? mkdtempSync(join(tmpdir(), 'regwasm-bench-node-'));
mkdirSync(base, { recursive: true });

const machine = (/** @type {number} */ i) => `00000000-0000-4000-8000-${String(i % 500).padStart(12, '0')}`;
const access = (/** @type {number} */ i) => /** @type {const} */ ({ action: 'access', person: '', machine: machine(i), url: `http://${i % 500}.netdata.rocks/`, name: `m${i % 500}`, quiet: true });

/**
 * Runs `fn` with the event loop's delay measured.
 * @param {() => Promise<number>} fn returns how many accesses it made
 */
async function phase(fn) {
  /** @type {number[]} */
  const gaps = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(Math.max(0, now - last - 1));
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 5)); // the timer runs
  const t0 = performance.now();
  const n = await fn();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 2)); // a stall at the very end is sampled too
  clearInterval(timer);
  gaps.sort((a, b) => a - b);
  return { rate: n / (ms / 1000), ms, lagP99: gaps[Math.floor(gaps.length * 0.99)] ?? 0, lagMax: gaps[gaps.length - 1] ?? 0 };
}

let seq = 0;
/**
 * @param {'worker' | 'inline'} engine
 * @param {'directory' | 'memory'} storage
 */
async function run(engine, storage) {
  /** @type {Record<string, Awaited<ReturnType<typeof phase>>>} */
  const out = {};
  const open = async () => {
    const where = storage === 'memory' ? 'memory' : join(base, `r${++seq}`);
    const reg = await openRegistry({ storage: where, engine });
    // Warm: a server's registry has run for a while (JIT, wasm tier-up, in the worker too).
    for (let i = 0; i < WARM; i++) await reg.batch([access(BATCH + i)]);
    await Promise.all(Array.from({ length: WARM }, (_, i) => reg.batch([access(BATCH + i)])));
    return { reg, where };
  };
  const done = async (/** @type {{reg: any, where: string}} */ r) => {
    await r.reg.close();
    if (r.where !== 'memory') rmSync(r.where, { recursive: true, force: true });
  };
  let r = await open();
  out.sequential = await phase(async () => {
    for (let i = 0; i < N; i++) await r.reg.batch([access(i)]);
    return N;
  });
  await done(r);
  r = await open();
  out['Promise.all'] = await phase(async () => {
    await Promise.all(Array.from({ length: N }, (_, i) => r.reg.batch([access(i)])));
    return N;
  });
  await done(r);
  r = await open();
  const actions = Array.from({ length: BATCH }, (_, i) => access(i));
  out.batch = await phase(async () => {
    await r.reg.batch(actions);
    return BATCH;
  });
  out.save = await phase(async () => {
    await r.reg.save();
    return 1;
  });
  await done(r);
  return out;
}

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const engines = /** @type {('worker' | 'inline')[]} */ (args.engines.split(','));
const storages = /** @type {const} */ (['directory', 'memory']);
// Warm the process first (the JIT, the module's wasm tier-up, shared by every registry).
for (const engine of engines) {
  const reg = await openRegistry({ storage: 'memory', engine });
  for (let i = 0; i < 3000; i++) await reg.batch([access(i)]);
  await Promise.all(Array.from({ length: 3000 }, (_, i) => reg.batch([access(i)])));
  await reg.batch(Array.from({ length: BATCH }, (_, i) => access(i)));
  await reg.close();
}

/** @type {Record<string, Record<string, Awaited<ReturnType<typeof phase>>[]>>} */
const samples = {};
const load0 = loadavg()[0];
for (let k = 0; k < RUNS; k++) {
  for (const storage of storages) {
    for (const engine of k % 2 === 0 ? engines : [...engines].reverse()) {
      const res = await run(engine, storage);
      for (const [ph, v] of Object.entries(res)) ((samples[`${engine}/${storage}`] ??= {})[ph] ??= []).push(v);
    }
  }
}

/** @type {any[]} */
const rows = [];
for (const [key, phases] of Object.entries(samples)) {
  const [engine, storage] = key.split('/');
  for (const [ph, vs] of Object.entries(phases)) {
    rows.push({
      engine,
      storage,
      phase: ph,
      rate: ph === 'save' ? null : Math.round(median(vs.map((v) => v.rate))),
      ms: Math.round(median(vs.map((v) => v.ms)) * 10) / 10,
      lagP99: Math.round(median(vs.map((v) => v.lagP99)) * 10) / 10,
      lagMax: Math.round(median(vs.map((v) => v.lagMax)) * 10) / 10,
    });
  }
}

const head = ['engine', 'storage', 'phase', 'accesses/s', 'took ms', 'lag p99 ms', 'lag max ms'];
const table = [head, ...rows.map((r) => [r.engine, r.storage, r.phase, r.rate === null ? '-' : r.rate.toLocaleString('en'), String(r.ms), String(r.lagP99), String(r.lagMax)])];
const widths = head.map((_, i) => Math.max(...table.map((row) => row[i].length)));
for (const row of table) console.log(row.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
const load = [load0, ...loadavg()].map((x) => x.toFixed(2));
console.log(`\nn=${N}, batch=${BATCH}, runs=${RUNS} (medians), node ${process.version}, ${cpus().length} cpus, load ${load[0]} before, ${load[1]} after`);

const json = { n: N, batch: BATCH, runs: RUNS, node: process.version, cpus: cpus().length, load: { before: load0, after: loadavg()[0] }, rows };
mkdirSync(dirname(args.json), { recursive: true });
writeFileSync(args.json, `${JSON.stringify(json, null, 2)}\n`);
console.log(`wrote ${args.json}`);
if (!args.dir) rmSync(base, { recursive: true, force: true });
