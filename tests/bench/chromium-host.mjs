// The Chromium host of the JS benchmark: registry.wasm in the module Worker that
// dist/browser.js starts (dist/worker.js), driven from the page through web/src's WorkerClient
// with request bytes, like the Go hosts; Debian's Chromium through playwright-core.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { launch, ROOT } from '../web/helpers.mjs';
import { benchConf, sameCounts } from './node-host.mjs';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/**
 * Serves the repository on 127.0.0.1 with caching allowed (tests/web/helpers.mjs's server sends
 * no-store), so that a second visit finds registry.wasm in the HTTP cache, as a dashboard's
 * returning users do, and Chromium may use its wasm code cache.
 */
async function serveCached() {
  const server = createServer((req, res) => {
    const path = normalize(join(ROOT, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    let body;
    try {
      if (!path.startsWith(ROOT)) throw new Error('outside');
      body = readFileSync(path);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[/** @type {keyof TYPES} */ (extname(path))] ?? 'application/octet-stream', 'cache-control': 'max-age=3600' });
    res.end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => {
      server.close(() => r(undefined));
      server.closeAllConnections();
    }),
  };
}

export function chromiumVersion() {
  try {
    return execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** @param {string} path @param {string} key @returns {number} bytes of a "key: N kB" line */
function statusKB(path, key) {
  const line = readFileSync(path, 'utf8').split('\n').find((l) => l.startsWith(`${key}:`));
  return line ? Number.parseInt(line.slice(key.length + 1), 10) * 1024 : 0;
}

/**
 * Resident memory of this process's Chromium renderers (descendant processes started with
 * --type=renderer): the largest one's VmRSS and VmHWM. The page and its Worker live in one.
 */
export function rendererMemory() {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone meanwhile
    }
  }
  let rss = 0;
  let peak = 0;
  const queue = [...(children.get(process.pid) ?? [])];
  while (queue.length) {
    const pid = /** @type {number} */ (queue.shift());
    queue.push(...(children.get(pid) ?? []));
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      rss = Math.max(rss, statusKB(`/proc/${pid}/status`, 'VmRSS'));
      peak = Math.max(peak, statusKB(`/proc/${pid}/status`, 'VmHWM'));
    } catch {
      // gone meanwhile
    }
  }
  return { rss, peak };
}

/**
 * test1 in Chromium: start-up, the phases, save and load, in a fresh profile; the figures in
 * the Go hosts' JSON shape.
 * @param {{options: import('../web/bench-workload.mjs').Options, logSync: string, onPhase?: (p: any) => void}} o
 */
export async function benchChromium({ options, logSync, onPhase }) {
  const t0 = performance.now();
  const server = await serveCached();
  const browser = await launch();
  try {
    const page = await browser.page();
    await page.exposeFunction('benchPhase', (/** @type {any} */ p) => onPhase?.(p));
    const open = async () => {
      await page.goto(`${server.url}/tests/web/fixtures/page.html`);
      await page.waitForFunction(() => /** @type {any} */ (window).loaded);
      return page.evaluate(async () => {
        const w = /** @type {any} */ (window);
        const { WorkerClient } = await import('/web/src/worker-client.js');
        const t = performance.now();
        const { client } = await WorkerClient.create({ name: 'bench', storage: 'memory', wasm: '/dist/registry.wasm', worker: '/dist/worker.js' });
        w.client = client;
        return (performance.now() - t) / 1000;
      });
    };
    // Cold: a fresh profile, nothing cached. Warm: the page visited again after the first visit
    // used the module for a while (Chromium stores its wasm code cache for modules that ran hot).
    const cold = await open();
    await page.evaluate(async () => {
      const w = /** @type {any} */ (window);
      const { run } = await import('/tests/web/bench-workload.mjs');
      await run((b) => w.client.call('request', b), { persons: 20000, machines: 4000, rounds: 1 });
      w.client.terminate();
    });
    await new Promise((r) => setTimeout(r, 3000));
    const warm = await open();
    const start = await page.evaluate(async (conf) => {
      const w = /** @type {any} */ (window);
      const codec = await import('/web/src/codec.js');
      const call = (/** @type {Uint8Array} */ b) => w.client.call('request', b);
      const one = async (/** @type {any} */ action) => {
        const [r] = codec.decodeResponse(await call(codec.encodeRequest([action])));
        if (r?.status !== 200) throw new Error(`${action.action}: ${r?.status} ${r?.body}`);
        return JSON.parse(r.body);
      };
      w.bench = { client: w.client, call, one };
      const set = await one({ action: 'configure', conf });
      // The Worker hop alone: a hello (no change, a short answer) there and back, median of 200.
      const hello = codec.encodeRequest([{ action: 'hello' }]);
      const trips = [];
      for (let i = 0; i < 200; i++) {
        const t = performance.now();
        await call(hello.slice());
        trips.push(performance.now() - t);
      }
      trips.sort((a, b) => a - b);
      return { cold: 0, warm: 0, logSync: set['log sync'], roundTrip: trips[100] / 1000 };
    }, benchConf(logSync));
    start.cold = cold;
    start.warm = warm;
    if (start.logSync !== logSync) throw new Error(`chromium: log sync is ${start.logSync}, want ${logSync}`);

    const phases = await page.evaluate(async (options) => {
      const w = /** @type {any} */ (window);
      const { run } = await import('/tests/web/bench-workload.mjs');
      return run(w.bench.call, options, (p) => w.benchPhase(p));
    }, options);
    const end = rendererMemory();

    const after = await page.evaluate(async () => {
      const { client, one } = /** @type {any} */ (window).bench;
      const counts = await one({ action: 'stats' });
      const files = (await client.call('status')).files;
      let t = performance.now();
      const saved = await client.call('save');
      const save = (performance.now() - t) / 1000;
      // A memory registry has no other reload: the trap export makes the Worker's Engine start a
      // new instance, which loads the files just saved (rule 6 of wasm/ABI.md).
      t = performance.now();
      const trap = await client.call('trap').then(
        () => 'no trap',
        (/** @type {any} */ e) => e.code,
      );
      const load = (performance.now() - t) / 1000;
      const reloaded = await one({ action: 'stats' });
      client.terminate();
      return { counts, saved, save, trap, load, reloaded, files };
    });
    if (after.trap !== 'trap') throw new Error(`chromium: the reload by trap answered ${after.trap}`);
    if (!sameCounts(after.counts, after.reloaded)) {
      throw new Error(`chromium: counts after load ${JSON.stringify(after.reloaded)}, before ${JSON.stringify(after.counts)}`);
    }
    const { persons, machines, urls, accesses, person_urls, machine_urls, bytes } = after.counts;
    return {
      host: 'chromium',
      storage:
        `the module in Chromium's module Worker (dist/worker.js), called from the page with WorkerClient.call('request', batch): ` +
        `the postMessage round trip (batch transferred, response copied back) and the Worker's Engine.request; files in memory ` +
        `(storage 'memory', browser_wasi_shim files in the Worker): each batch appended to the in-memory change log ` +
        `(its syncs are no-ops), log sync = ${logSync}`,
      phases,
      counts: { persons, machines, urls, accesses, person_urls, machine_urls, bytes },
      bytes_per_person_url: bytes / person_urls,
      rss_end: end.rss,
      peak_rss: rendererMemory().peak,
      peak_rss_isolated: true,
      memory_note: "Chromium's renderer that runs the page and its Worker (VmRSS, VmHWM of the largest renderer)",
      save_seconds: after.save,
      snapshot_bytes: after.saved.bytes,
      load_seconds: after.load,
      load_note:
        'a new instance in the Worker loading the saved files (instantiate, _initialize, load; started through the ' +
        "trap export, since a 'memory' registry cannot be reopened)",
      cold_start_seconds: start.cold,
      warm_start_seconds: start.warm,
      compile_cold_seconds: 0,
      compile_warm_seconds: 0,
      open_seconds: 0,
      start_note:
        'WorkerClient.create (start the Worker, fetch registry.wasm, compileStreaming, instantiate, _initialize, load): ' +
        'cold in a fresh profile; warm when the page is loaded again after the first visit used the module (a short ' +
        'test1 run, then 3 s): worker.js and registry.wasm from the HTTP cache (served with max-age) and the compiled ' +
        'code from Chromium\'s wasm code cache',
      total_seconds: (performance.now() - t0) / 1000,
      round_trip_seconds: start.roundTrip,
      load_average: loadavg()[0],
      log_bytes_per_access: (after.files.find((/** @type {any} */ f) => f.name === 'registry.log')?.size ?? 0) / accesses,
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
