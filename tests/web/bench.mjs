// test1-like benchmark of the JS hosts (not part of the default test run):
//   node tests/web/bench.mjs [--persons 20000] [--machines 4000] [--batch 1000] [--rounds 2]
//                            [--hosts node,chromium] [--storage memory|persistent]
// Node runs the registry in-process ('persistent': a temp directory); Chromium in the Worker
// ('persistent': IndexedDB). Prints req/s per phase, as the time spent in Registry.batch
// (encoding, the call, the commit, decoding: what a caller waits for).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openRegistry } from '../../dist/node.js';
import { test1 } from './bench-workload.mjs';
import { launch, ROOT, serve } from './helpers.mjs';

const { values: opt } = parseArgs({
  options: {
    persons: { type: 'string', default: '20000' },
    machines: { type: 'string', default: '4000' },
    batch: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '2' },
    hosts: { type: 'string', default: 'node,chromium' },
    storage: { type: 'string', default: 'memory' },
  },
});
const options = { persons: +opt.persons, machines: +opt.machines, batch: +opt.batch, rounds: +opt.rounds };
const persistent = opt.storage === 'persistent';

/** @param {string} host @param {{phases: any[], save: any}} r */
function report(host, r) {
  const total = r.phases.reduce((a, p) => ({ n: a.n + p.requests, ms: a.ms + p.ms }), { n: 0, ms: 0 });
  console.log(`${host}: ${r.phases.length} phases, ${total.n} requests, ${Math.round((total.n / total.ms) * 1000)} req/s overall; save ${r.save.ms.toFixed(0)} ms (${r.save.file}, ${r.save.bytes} bytes)`);
}
/** @param {string} host */
const line = (host) => (/** @type {any} */ p) => console.log(`${host.padEnd(24)} ${p.name.padEnd(14)} ${String(p.requests).padStart(9)} req ${Math.round(p.perSecond).toString().padStart(8)} req/s`);

console.log(`test1 at ${JSON.stringify(options)}, storage ${persistent ? 'persistent' : 'memory'}`);

if (opt.hosts.split(',').includes('node')) {
  const dir = persistent ? await mkdtemp(join(tmpdir(), 'regwasm-bench-')) : null;
  const reg = await openRegistry({ storage: dir ?? 'memory' });
  const host = `node (${dir ? 'directory' : 'memory'})`;
  report(host, await test1(reg, { ...options, onPhase: line(host) }));
  await reg.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}

if (opt.hosts.split(',').includes('chromium')) {
  const server = await serve(ROOT);
  const browser = await launch();
  try {
    const page = await browser.page();
    await page.goto(`${server.url}/tests/web/fixtures/page.html`);
    await page.waitForFunction(() => /** @type {any} */ (window).loaded);
    const host = `chromium (${persistent ? 'indexeddb' : 'memory'})`;
    await page.exposeFunction('onPhase', line(host));
    const r = await page.evaluate(
      async ([o, storage]) => {
        const w = /** @type {any} */ (window);
        const { test1 } = await import('/tests/web/bench-workload.mjs');
        const reg = await w.regwasm.openRegistry({ name: 'bench', storage });
        return test1(reg, { ...o, onPhase: w.onPhase });
      },
      /** @type {const} */ ([options, persistent ? 'indexeddb' : 'memory']),
    );
    report(host, r);
  } finally {
    await browser.close();
    await server.close();
  }
}
