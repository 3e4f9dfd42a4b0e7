// test1 on the JS hosts, side by side with `regwasm bench` (the Go hosts):
//   node tests/web/bench.mjs [--full | --persons N --machines M] [--rounds 10] [--batch 1000]
//                            [--seed 1] [--log-sync save] [--hosts node,chromium] [--json FILE]
// The same workload as registry/test1 (tests/web/bench-workload.mjs is its exact port), the
// same batches, the same "log sync" setting; each host is called with request bytes, as the Go
// hosts are, and times only the calls. `regwasm bench report` merges --json with the Go
// hosts' JSON into BENCHMARKS.md (./build.sh bench does all of it).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchChromium, chromiumVersion } from '../bench/chromium-host.mjs';
import { benchNode } from '../bench/node-host.mjs';
import { FULL } from './bench-workload.mjs';
import { DIST } from './helpers.mjs';

const { values: opt } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    persons: { type: 'string', default: '100000' },
    machines: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    'log-sync': { type: 'string', default: 'save' },
    hosts: { type: 'string', default: 'node,chromium' },
    json: { type: 'string' },
  },
});
const options = {
  persons: opt.full ? FULL.persons : Number(opt.persons),
  machines: opt.full ? FULL.machines : Number(opt.machines),
  batch: Number(opt.batch),
  rounds: Number(opt.rounds),
  seed: Number(opt.seed),
};
for (const [k, v] of Object.entries(options)) {
  if (!Number.isSafeInteger(v) || v <= 0 || (k === 'seed' && v > 0xffffffff)) {
    console.error(`bench.mjs: --${k} must be a positive integer (seed: 32 bits), not ${v}`);
    process.exit(2);
  }
}
const logSync = opt['log-sync'];
const hosts = opt.hosts.split(',').filter(Boolean);
for (const h of hosts) {
  if (h !== 'node' && h !== 'chromium') {
    console.error(`bench.mjs: unknown host ${h} (node, chromium)`);
    process.exit(2);
  }
}

const human = (/** @type {number} */ n) => (n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}K` : String(n));
console.log(`test1: ${human(options.persons)} persons, ${human(options.machines)} machines, ${options.rounds} rounds, batches of ${options.batch}, seed ${options.seed}, log sync = ${logSync}`);
/** @param {string} host */
const line = (host) => (/** @type {any} */ p) => console.log(`${host.padEnd(8)} ${p.name.padEnd(14)} ${Math.round(p.per_second).toString().padStart(10)} req/s`);

const results = [];
for (const host of hosts) {
  const r =
    host === 'node'
      ? await benchNode({ wasm: join(DIST, 'registry.wasm'), options, logSync, onPhase: line(host) })
      : await benchChromium({ options, logSync, onPhase: line(host) });
  const mib = (/** @type {number} */ b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const c = r.counts;
  console.log(`${host.padEnd(8)} persons ${c.persons}, machines ${c.machines}, URLs ${c.urls}, accesses ${c.accesses}, person-URLs ${c.person_urls}, machine-URLs ${c.machine_urls}`);
  console.log(`${''.padEnd(8)} tables ${mib(c.bytes)}${r.wasm_memory_end ? `, wasm memory ${mib(r.wasm_memory_end)}` : ''}, RSS after the phases ${mib(r.rss_end)}, peak ${mib(r.peak_rss)}; save ${r.save_seconds.toFixed(3)} s, snapshot ${mib(r.snapshot_bytes)}, load ${r.load_seconds.toFixed(3)} s; cold start ${(r.cold_start_seconds * 1e3).toFixed(0)} ms, warm ${(r.warm_start_seconds * 1e3).toFixed(0)} ms`);
  results.push({ ...r, options: { ...options, log_sync: logSync } });
}

// Hosts that ran the same workload must agree (the report checks the Go hosts against these).
const keys = ['persons', 'machines', 'urls', 'accesses', 'person_urls', 'machine_urls'];
for (const r of results.slice(1)) {
  const diff = keys.filter((k) => r.counts[k] !== results[0].counts[k]);
  if (diff.length) {
    console.error(`bench.mjs: ${r.host} and ${results[0].host} disagree on ${diff.join(', ')}: ${JSON.stringify(r.counts)} vs ${JSON.stringify(results[0].counts)}`);
    process.exit(1);
  }
}

const node = results.find((r) => r.host === 'node');
const chromium = results.find((r) => r.host === 'chromium');
const notes = [
  'JS hosts: the same request bytes as the Go hosts, built by tests/web/bench-workload.mjs outside the timed calls. ' +
    'The public API (Registry.batch) adds encoding the action objects and decoding the results on top' +
    (node ? `: ${(node.api_overhead_seconds * 1e3).toFixed(2)} ms per batch of ${options.batch} in Node (median of 50), not in these figures.` : '.'),
];
if (chromium) {
  notes.push(
    `Chromium: the page-to-Worker hop alone (a hello there and back) takes ${(chromium.round_trip_seconds * 1e3).toFixed(2)} ms ` +
      '(median of 200); every timed batch pays it, and the batch bytes are transferred, the response copied. ' +
      "Storage 'memory' keeps every file in the Worker's memory: the change log grows by about " +
      `${Math.round(chromium.log_bytes_per_access)} bytes per access until the save compacts it, and its RSS includes that.`,
  );
}
if (opt.json) {
  const out = {
    date: new Date().toISOString(),
    command: `node tests/web/bench.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    node_version: process.version,
    chromium_version: hosts.includes('chromium') ? chromiumVersion() : '',
    options: { ...options, log_sync: logSync },
    hosts: results,
    notes,
  };
  await writeFile(opt.json, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${opt.json}`);
}
