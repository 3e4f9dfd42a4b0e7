// The JS port of registry/test1 (bench-workload.mjs) against tests/bench/test1-fixture.json,
// which registry/test1's TestFixture checks the Go workload against: the same generator
// outputs, the same requests, the same batch bytes, and on the Node host the same final counts
// as the native registry.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { counts, openEngine } from '../bench/node-host.mjs';
import { BatchWriter, Rand, responsePersons, run, workload } from './bench-workload.mjs';
import { ROOT, WASM } from './helpers.mjs';

const run_ = promisify(execFile);
const fixture = JSON.parse(await readFile(join(ROOT, 'tests', 'bench', 'test1-fixture.json'), 'utf8'));

/** Go's fixturePerson: a stand-in for person p's GUID in batches_sha256. */
const fixturePerson = (/** @type {number} */ p) => `00000000-0000-7000-8000-${p.toString(16).padStart(12, '0')}`;

test('Rand: the same outputs as Go for the same seed', () => {
  const r = new Rand(fixture.rand.seed);
  assert.deepEqual(Array.from({ length: fixture.rand.uint32.length }, () => r.uint32()), fixture.rand.uint32);
  for (const [n, want] of fixture.rand.intn) assert.equal(r.intN(n), want, `intN(${n})`);
  assert.throws(() => r.intN(0), RangeError);
  assert.throws(() => r.intN(2 ** 32), RangeError);
});

/**
 * The stream digests Go writes: one line per request, and the batches' bytes with stand-in
 * persons; plus how many URLs were a new random one or another machine's.
 * @param {any} o fixture options
 */
function digest(o) {
  const w = workload(o);
  const lines = createHash('sha256');
  const batches = createHash('sha256');
  const writer = new BatchWriter();
  const r = { person: 0, machine: 0, url: '' };
  let random = 0;
  let other = 0;
  /** @type {any[]} */
  const phases = [];
  w.phases.forEach((s, k) => {
    const requests = [];
    for (let i = 0; i < s.n; i++) {
      s.next(i, r);
      lines.update(`${k}\t${r.person}\t${r.machine}\t${r.url}\n`);
      requests.push([r.person, r.machine, r.url]);
      if (r.url !== w.urls[r.machine]) {
        if (r.url.startsWith('http://random.')) random++;
        else other++;
      }
      writer.access(s.when, r.person < 0 ? '' : fixturePerson(r.person), w.machines[r.machine], r.url);
      if ((i + 1) % o.batch === 0 || i === s.n - 1) batches.update(writer.take());
    }
    phases.push({ name: s.name, n: s.n, when: s.when, requests });
  });
  return { w, phases, requests: lines.digest('hex'), batches: batches.digest('hex'), random, other };
}

test('tiny scale: the same machines, phases and requests as Go, one by one', () => {
  const d = digest(fixture.tiny.options);
  assert.deepEqual(d.w.machines, fixture.tiny.machines);
  assert.equal(d.phases.length, fixture.tiny.phases.length);
  d.phases.forEach((p, k) => assert.deepEqual(p, fixture.tiny.phases[k], `phase ${k + 1}`));
  assert.equal(d.requests, fixture.tiny.requests_sha256);
  assert.equal(d.batches, fixture.tiny.batches_sha256, 'request batches, byte for byte');
});

test('small scale: the same request stream and batch bytes as Go', () => {
  const d = digest(fixture.small.options);
  assert.equal(d.random, fixture.small.random_urls);
  assert.equal(d.other, fixture.small.other_urls);
  assert.ok(d.random > 0 && d.other > 0, 'both URL variations are exercised');
  assert.equal(d.requests, fixture.small.requests_sha256);
  assert.equal(d.batches, fixture.small.batches_sha256);
});

test('BatchWriter frames non-ASCII fields by their UTF-8 length', () => {
  const w = new BatchWriter();
  w.access(300, '', 'm', 'http://é/');
  const url = [...new TextEncoder().encode('http://é/')];
  assert.deepEqual([...w.take()], [0x61, 1, 0xac, 0x02, 0, 1, 0x6d, url.length, ...url, 5, ...new TextEncoder().encode('test1')]);
  assert.throws(() => responsePersons(new Uint8Array([0x90, 0x03, 0, 2, 0x7b, 0x7d])), /status 400/);
});

for (const scale of ['tiny', 'small']) {
  test(`${scale} scale on the Node host: the counts of the native registry`, async () => {
    const module = await WebAssembly.compile(await readFile(WASM));
    const engine = await openEngine(module, 'memory');
    const call = (/** @type {Uint8Array} */ b) => engine.request(b);
    const phases = await run(call, fixture[scale].options);
    const { bytes, ...c } = await counts(call);
    engine.close();
    assert.equal(phases.length, fixture[scale].phases.length);
    const o = fixture[scale].options;
    assert.equal(phases.reduce((n, p) => n + p.requests, 0), 5 * o.persons + 2 * o.persons * o.rounds);
    assert.ok(bytes > 0);
    assert.deepEqual(c, fixture[scale].counts);
  });
}

test('bench.mjs at a tiny scale: both JS hosts, the same counts, the JSON `regwasm bench report` reads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'regwasm-bench-test-'));
  try {
    const json = join(dir, 'bench-js.json');
    await run_(process.execPath, [join(ROOT, 'tests', 'web', 'bench.mjs'), '--persons', '300', '--machines', '60', '--rounds', '2', '--batch', '64', '--json', json]);
    const rep = JSON.parse(await readFile(json, 'utf8'));
    assert.match(rep.node_version, /^v\d+/);
    assert.match(rep.chromium_version, /Chromium/);
    assert.deepEqual(rep.options, { persons: 300, machines: 60, batch: 64, rounds: 2, seed: 1, log_sync: 'save' });
    assert.deepEqual(rep.hosts.map((/** @type {any} */ h) => h.host), ['node', 'chromium']);
    for (const h of rep.hosts) {
      assert.equal(h.phases.length, 7, h.host);
      for (const p of h.phases) assert.ok(p.per_second > 0 && p.batches >= 5 && p.requests >= 300, `${h.host} ${JSON.stringify(p)}`);
      const { bytes, ...c } = h.counts;
      assert.ok(bytes > 0 && c.persons === 300 && c.machines === 120 && c.accesses === 300 * 9, `${h.host} ${JSON.stringify(h.counts)}`);
      for (const k of ['rss_end', 'peak_rss', 'save_seconds', 'snapshot_bytes', 'load_seconds', 'cold_start_seconds', 'warm_start_seconds', 'bytes_per_person_url']) {
        assert.ok(h[k] > 0, `${h.host} ${k}: ${h[k]}`);
      }
      assert.match(h.storage, /log sync = save/);
      assert.equal(typeof h.load_average, 'number');
      assert.ok(h.memory_note && h.load_note && h.start_note, h.host);
    }
    assert.deepEqual(rep.hosts[1].counts.person_urls, rep.hosts[0].counts.person_urls);
    assert.ok(rep.hosts[0].wasm_memory_end >= rep.hosts[0].counts.bytes, 'node reports its linear memory');
    assert.ok(rep.notes.some((/** @type {string} */ n) => /Worker/.test(n)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
