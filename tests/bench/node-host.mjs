// The Node host of the JS benchmark: registry.wasm in-process, exactly as dist/node.js runs it
// (web/src's Engine over browser_wasi_shim, files through node:fs), driven with request bytes
// like the Go hosts (wazero's host.Registry.Call), so every host times the same thing.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeResponse, encodeRequest, toResult } from '../../web/src/codec.js';
import { Engine } from '../../web/src/engine.js';
import { FsPreopen } from '../../web/src/fsdir.js';
import { FlatDirectory, preopenRoot } from '../../web/src/memfs.js';
import { shimWasi } from '../../web/src/shim.js';
import { run } from '../web/bench-workload.mjs';

/**
 * A registry on an Engine: files in `dir`, or in memory when dir is 'memory'. `memory()` is the
 * current instance's linear memory in bytes.
 * @param {WebAssembly.Module} module
 * @param {string} dir
 */
export async function openEngine(module, dir) {
  /** @type {() => import('../../web/src/engine.js').WasiSet} */
  let wasi;
  if (dir === 'memory') {
    const files = new FlatDirectory(new Map(), null); // outlives instances, as in dist/node.js
    wasi = () => shimWasi(preopenRoot(files));
  } else {
    await mkdir(dir, { recursive: true });
    wasi = () => shimWasi(new FsPreopen(dir));
  }
  /** @type {WebAssembly.Instance | null} */
  let instance = null;
  const makeWasi = () => {
    const set = wasi();
    const init = set.initialize;
    set.initialize = (inst) => {
      instance = inst;
      init(inst);
    };
    return set;
  };
  const engine = await Engine.create({ module, makeWasi });
  const memory = () => /** @type {WebAssembly.Memory} */ (/** @type {any} */ (instance)?.exports.memory)?.buffer.byteLength ?? 0;
  return Object.assign(engine, { memory });
}

/**
 * Runs one action and returns its response record, the JSON body parsed.
 * @param {(bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>} call
 * @param {Record<string, unknown> & {action: string}} action
 */
export async function one(call, action) {
  const [r] = decodeResponse(await call(encodeRequest([action])));
  if (!r || r.status !== 200) throw new Error(`${action.action}: ${r ? `${r.status} ${r.body}` : 'no response'}`);
  return { ...r, json: r.body ? JSON.parse(r.body) : {} };
}

/** The counters of the stats answer, as the Go hosts report them. */
export async function counts(/** @type {(b: Uint8Array) => any} */ call) {
  const { json } = await one(call, { action: 'stats' });
  const { persons, machines, urls, accesses, person_urls, machine_urls, bytes } = json;
  return { persons, machines, urls, accesses, person_urls, machine_urls, bytes };
}

/**
 * The netdata.conf text every JS host is configured with (op configure), as the Go hosts are
 * (host/cmd/regwasm's logSyncConf): the log sync setting, and no saves inside the phases.
 * @param {string} logSync
 */
export const benchConf = (logSync) => `[registry]\n\tlog sync = ${logSync}\n\tregistry save db every new entries = 0\n`;

/** Sets "log sync" through op configure and checks that it took. */
export async function configureLogSync(/** @type {(b: Uint8Array) => any} */ call, /** @type {string} */ logSync) {
  const { json } = await one(call, { action: 'configure', conf: benchConf(logSync) });
  if (json['log sync'] !== logSync) throw new Error(`configure: log sync is ${json['log sync']}, want ${logSync}`);
}

/** @param {Record<string, number>} a @param {Record<string, number>} b */
export function sameCounts(a, b) {
  return ['persons', 'machines', 'urls', 'accesses', 'person_urls', 'machine_urls'].every((k) => a[k] === b[k]);
}

/**
 * test1 on the Node host: start-up, the phases, save and load; the figures in the Go hosts'
 * JSON shape (host/cmd/regwasm/internal/bench's HostResults).
 * @param {{wasm: string, options: import('../web/bench-workload.mjs').Options, logSync: string, onPhase?: (p: any) => void}} o
 */
export async function benchNode({ wasm, options, logSync, onPhase }) {
  const t0 = performance.now();
  const tmp = await mkdtemp(join(tmpdir(), 'regwasm-bench-node-'));
  try {
    const bytes = await readFile(wasm);
    let t = performance.now();
    const module = await WebAssembly.compile(bytes);
    const compile = (performance.now() - t) / 1000;
    t = performance.now();
    const first = await openEngine(module, join(tmp, 'cold'));
    const open = (performance.now() - t) / 1000;
    first.close();
    t = performance.now();
    const engine = await openEngine(module, join(tmp, 'data'));
    const warm = (performance.now() - t) / 1000;
    const call = (/** @type {Uint8Array} */ b) => engine.request(b);
    await configureLogSync(call, logSync);

    const phases = await run(call, options, onPhase);
    const rssEnd = process.memoryUsage.rss();
    const wasmEnd = engine.memory();
    const c = await counts(call);
    t = performance.now();
    const saved = engine.save();
    const save = (performance.now() - t) / 1000;
    t = performance.now();
    engine.load();
    const load = (performance.now() - t) / 1000;
    const after = await counts(call);
    if (!sameCounts(c, after)) throw new Error(`node: counts after load ${JSON.stringify(after)}, before ${JSON.stringify(c)}`);
    const api = apiOverhead(options.batch ?? 1000);
    engine.close();
    return {
      host: 'node',
      storage:
        `the module in Node, in-process: web/src's Engine.request(batch), as dist/node.js runs it (copy into linear memory, ` +
        `the call, copy out; WASI from browser_wasi_shim); files in a directory through node:fs (web/src/fsdir.js): ` +
        `each batch appended to the change log, log sync = ${logSync}`,
      phases,
      counts: c,
      bytes_per_person_url: c.bytes / c.person_urls,
      wasm_memory_end: wasmEnd,
      rss_end: rssEnd,
      peak_rss: process.resourceUsage().maxRSS * 1024,
      peak_rss_isolated: true,
      memory_note: 'the node process (process.memoryUsage().rss, resourceUsage().maxRSS; Node ran first in it)',
      save_seconds: save,
      snapshot_bytes: saved.bytes,
      load_seconds: load,
      load_note: "the module's load export in the same instance (Engine.load)",
      cold_start_seconds: compile + open,
      warm_start_seconds: warm,
      compile_cold_seconds: compile,
      compile_warm_seconds: 0,
      open_seconds: open,
      start_note:
        'cold: WebAssembly.compile of the file + open; warm: a second open in the same process, the module compiled ' +
        'already (dist/node.js caches it per file; Node keeps no wasm code cache across processes) (open = instantiate, ' +
        '_initialize, load an empty directory). V8 compiles functions lazily, on first call: the rest of the compile ' +
        'cost falls in the first phase',
      total_seconds: (performance.now() - t0) / 1000,
      load_average: loadavg()[0],
      api_overhead_seconds: api,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * What the public API (Registry.batch) adds per batch of quiet accesses over raw bytes:
 * encoding the action objects, decoding the response records into results (median of 50).
 * @param {number} n accesses per batch
 */
function apiOverhead(n) {
  const guid = '01234567-89ab-7def-8123-456789abcdef';
  const actions = Array.from({ length: n }, (_, i) => ({ action: 'access', person: guid, machine: guid, url: `http://${i}.netdata.rocks/`, name: 'test1', when: 1800000000, quiet: true }));
  const record = [0xc8, 0x01, 36, ...new TextEncoder().encode(guid), 0];
  const response = new Uint8Array(n * record.length);
  for (let i = 0; i < n; i++) response.set(record, i * record.length);
  const times = [];
  for (let k = 0; k < 50; k++) {
    const t = performance.now();
    encodeRequest(actions);
    decodeResponse(response).map(toResult);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[25] / 1000;
}
