// The Node host as a JS developer meets it: calls off the event loop, errors at open wrapped,
// wrong arguments refused with one clear message, options objects, AbortSignal and timeouts,
// events, backup and restore (netdata's format), destroy() and Symbol.asyncDispose.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openRegistry, RegistryError } from '../../dist/node.js';
import { accesses, machine } from './helpers.mjs';

const tmp = await mkdtemp(join(tmpdir(), 'regwasm-node-api-'));
after(() => rm(tmp, { recursive: true, force: true }));

/**
 * A rejection that is a RegistryError with `code` whose message matches `message`.
 * @param {string} code
 * @param {RegExp} [message]
 */
const fails = (code, message) => (/** @type {any} */ e) => {
  assert.ok(e instanceof RegistryError, `a RegistryError, not ${e?.name}: ${e?.message}`);
  assert.equal(e.code, code, `code of: ${e.message}`);
  if (message) assert.match(e.message, message);
  return true;
};

describe('off the event loop', () => {
  for (const storage of ['directory', 'memory']) {
    test(`${storage}: timers keep firing while a large batch and a save run`, async () => {
      const reg = await openRegistry({ storage: storage === 'memory' ? 'memory' : join(tmp, 'loop') });
      assert.equal((await reg.status()).engine, 'worker', 'the module runs in a worker thread by default');
      /** @type {number[]} */
      const ticks = [];
      const timer = setInterval(() => ticks.push(performance.now()), 2);
      const t0 = performance.now();
      await reg.batch(accesses(20000, { machines: 500 }));
      const t1 = performance.now();
      await reg.save();
      const t2 = performance.now();
      clearInterval(timer);
      const during = (/** @type {number} */ a, /** @type {number} */ b) => ticks.filter((t) => t > a && t < b).length;
      // In the same thread the batch and the save run synchronously: no timer fires inside.
      assert.ok(during(t0, t1) >= 3, `timers fired during the batch (${during(t0, t1)} in ${(t1 - t0).toFixed(0)} ms)`);
      assert.ok(t2 - t1 < 20 || during(t1, t2) >= 1, `timers fired during the save (${(t2 - t1).toFixed(0)} ms)`);
      assert.equal((await reg.stats()).accesses, 20000);
      await reg.close();
    });
  }

  test("engine: 'inline' runs in this thread and gives the same answers", async () => {
    const reg = await openRegistry({ storage: 'memory', engine: 'inline' });
    assert.equal((await reg.status()).engine, 'inline');
    const a = await reg.access('', machine(1), 'http://inline/', 'inline');
    assert.equal(a.status, 200);
    await reg.close();
  });

  test('concurrent calls are answered in order, each with its own result', async () => {
    const reg = await openRegistry({ storage: join(tmp, 'concurrent') });
    const rs = await Promise.all(Array.from({ length: 300 }, (_, i) => reg.access('', machine(i % 7), `http://c${i}.example/`, `c${i}`)));
    assert.equal(new Set(rs.map((r) => r.person)).size, 300);
    rs.forEach((r, i) => assert.equal(r.urls?.[0][1], `http://c${i}.example/`));
    // A malformed call among them fails alone.
    const mixed = await Promise.allSettled([
      reg.access('', machine(1), 'http://fine-1/', 'f'),
      reg.batch([{ action: 'access', person: '', machine: machine(2), url: `http://${'x'.repeat(70000)}/`, name: 'long' }]),
      reg.access('', machine(3), 'http://fine-2/', 'f'),
    ]);
    assert.deepEqual(mixed.map((m) => m.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(/** @type {any} */ (mixed[1]).reason.code, 'malformed');
    assert.equal((await reg.stats()).accesses, 302);
    await reg.close();
  });
});

describe('errors at open are RegistryErrors with a code and the cause', () => {
  test('a missing wasm file', async () => {
    await assert.rejects(openRegistry({ storage: 'memory', wasm: join(tmp, 'nowhere.wasm') }), (e) => {
      fails('failed', /nowhere\.wasm/)(e);
      assert.equal(/** @type {any} */ (e).cause?.code, 'ENOENT');
      return true;
    });
  });

  test('garbage bytes as wasm', async () => {
    await assert.rejects(openRegistry({ storage: 'memory', wasm: new Uint8Array([1, 2, 3, 4]) }), (e) => {
      fails('failed', /WebAssembly/)(e);
      assert.ok(/** @type {any} */ (e).cause instanceof WebAssembly.CompileError);
      return true;
    });
  });

  test('a file where the directory should be', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'not a directory');
    await assert.rejects(openRegistry({ storage: file }), (e) => {
      fails('storage', /a-file/)(e);
      assert.ok(/** @type {any} */ (e).cause instanceof Error);
      return true;
    });
  });
});

describe('wrong arguments are refused with a clear message and change nothing', () => {
  test('openRegistry options', async () => {
    await assert.rejects(openRegistry(/** @type {any} */ ('name')), fails('invalid', /options object/));
    await assert.rejects(openRegistry({ storage: /** @type {any} */ (42) }), fails('invalid', /storage/));
    await assert.rejects(openRegistry({ storage: 'memory', name: 'a/b/c' }), fails('invalid', /name/));
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      await assert.rejects(openRegistry({ name: 'x/y/z' }), fails('invalid', /name/));
      assert.equal(existsSync(join(tmp, 'x')), false, 'no directory was created');
    } finally {
      process.chdir(cwd);
    }
    await assert.rejects(openRegistry(/** @type {any} */ ({ storage: 'memory', stroage: 'x' })), fails('invalid', /stroage/));
    await assert.rejects(openRegistry({ storage: 'indexeddb' }), fails('invalid', /browser/));
    await assert.rejects(openRegistry({ storage: 'memory', engine: /** @type {any} */ ('fast') }), fails('invalid', /engine/));
  });

  test('action arguments', async () => {
    const reg = await openRegistry({ storage: 'memory' });
    await assert.rejects(reg.configure(/** @type {any} */ (42)), fails('invalid', /conf.*string/));
    await assert.rejects(reg.access(/** @type {any} */ (123), machine(1), 'http://x/', 'x'), fails('invalid', /person.*string/));
    await assert.rejects(reg.batch(/** @type {any} */ ({ action: 'hello' })), fails('invalid', /array/));
    await assert.rejects(reg.batch([/** @type {any} */ ({ action: 'fly' })]), fails('invalid', /fly/));
    await assert.rejects(reg.access('', machine(1), 'http://x/', 'x', /** @type {any} */ ({ quite: true })), fails('invalid', /quite/));
    assert.equal((await reg.stats()).persons, 0, 'nothing was applied');
    await reg.close();
  });

  test('`when`: one message that says seconds, for every mistake; a Date works', async () => {
    const reg = await openRegistry({ storage: 'memory' });
    for (const when of [Date.now(), -1, 1.5, 'soon', 2 ** 40]) {
      await assert.rejects(reg.access('', machine(1), 'http://x/', 'x', { when: /** @type {any} */ (when) }), fails('invalid', /when.*seconds/));
    }
    await assert.rejects(reg.hello({ when: Date.now() }), fails('invalid', /milliseconds/));
    const at = new Date('2024-05-01T12:00:00Z');
    const r = await reg.access('', machine(1), 'http://dated/', 'd', { when: at });
    assert.equal(r.urls?.[0][2], at.getTime(), 'urls times are ms: the Date back');
    assert.equal((await reg.stats()).accesses, 1);
    await reg.close();
  });
});

describe('the API', () => {
  test('options objects for access, delete, search and switch', async () => {
    const reg = await openRegistry({ storage: 'memory' });
    const a = await reg.access({ person: '', machine: machine(1), url: 'http://one/', name: 'one' });
    assert.equal(a.status, 200);
    const b = await reg.access({ person: a.person, machine: machine(2), url: 'http://two/', name: 'two', quiet: true });
    assert.equal(b.person, a.person);
    assert.equal(b.urls, undefined);
    const s = await reg.search({ person: a.person, machine: machine(2), url: 'http://two/', for: machine(1) });
    assert.deepEqual(s.urls?.map((u) => u[1]), ['http://one/']);
    const other = await reg.access({ machine: machine(1), url: 'http://one/', name: 'one' });
    const w = await reg.switch({ person: other.person, machine: machine(1), url: 'http://one/', to: a.person });
    assert.equal(w.status, 200);
    assert.equal(w.person, a.person);
    const d = await reg.delete({ person: a.person, machine: machine(2), url: 'http://two/', deleteUrl: 'http://one/' });
    assert.equal(d.status, 200);
    assert.equal((await reg.stats()).person_urls, 2);
    await assert.rejects(reg.access(/** @type {any} */ ({ machine: machine(1), url: 'http://x/', nmae: 'typo' })), fails('invalid', /nmae/));
    await reg.close();
  });

  test('AbortSignal and timeout', async () => {
    const reg = await openRegistry({ storage: 'memory' });
    const ac = new AbortController();
    ac.abort(new Error('user left'));
    await assert.rejects(reg.access('', machine(1), 'http://x/', 'x', { signal: ac.signal }), (e) => {
      fails('aborted')(e);
      assert.equal(/** @type {any} */ (e).cause?.message, 'user left');
      return true;
    });
    assert.equal((await reg.stats()).accesses, 0, 'an already aborted call never runs');
    await assert.rejects(reg.batch(accesses(40000), { timeout: 1 }), fails('timeout', /1 ms/));
    const late = new AbortController();
    const p = reg.batch(accesses(40000, { from: 50000 }), { signal: late.signal });
    late.abort();
    await assert.rejects(p, fails('aborted'));
    await reg.close();
  });

  test('events: close', async () => {
    const reg = await openRegistry({ storage: 'memory' });
    /** @type {string[]} */
    const seen = [];
    const off = reg.on('close', (ev) => seen.push(ev.type));
    assert.equal(typeof off, 'function');
    assert.throws(() => reg.on(/** @type {any} */ ('explode'), () => {}), fails('invalid', /explode/));
    await reg.close();
    await reg.close();
    assert.deepEqual(seen, ['close']);
  });

  test("export and import: netdata's registry.db as bytes, restored into another registry", async () => {
    const src = await openRegistry({ storage: join(tmp, 'backup-src') });
    await src.batch(accesses(500, { machines: 40 }));
    const a = await src.access('', machine(900), 'http://kept.example/', 'kept');
    const bytes = await src.export();
    assert.ok(bytes instanceof Uint8Array);
    assert.match(new TextDecoder().decode(bytes.subarray(0, 200)), /^[A-Z]\t/m, "netdata's registry.db lines");
    assert.deepEqual((await readdir(join(tmp, 'backup-src'))).filter((n) => !n.startsWith('registry.') && n !== '.lock'), [], 'no temporary file left');
    const want = await src.stats();
    await src.close();

    const dst = await openRegistry({ storage: 'memory' });
    const imported = await dst.import(bytes);
    assert.equal(imported.status, 200);
    const got = await dst.stats();
    for (const k of /** @type {const} */ (['persons', 'machines', 'urls', 'person_urls', 'machine_urls'])) assert.equal(got[k], want[k], k);
    const again = await dst.access(a.person, machine(900), 'http://kept.example/', 'kept');
    assert.equal(again.person, a.person, 'the person is known after the restore');
    const bad = await dst.import(new TextEncoder().encode('not a registry'));
    assert.equal(bad.status, 400);
    await dst.close();
  });

  test('destroy() deletes the files; Symbol.asyncDispose closes', async () => {
    const dir = join(tmp, 'destroyed');
    const reg = await openRegistry({ storage: dir });
    await reg.access('', machine(1), 'http://x/', 'x');
    await reg.save();
    await reg.destroy();
    await assert.rejects(reg.stats(), fails('closed'));
    assert.equal(existsSync(dir), false, 'the emptied directory is removed');
    const fresh = await openRegistry({ storage: dir });
    assert.equal((await fresh.stats()).persons, 0);
    assert.equal(typeof fresh[Symbol.asyncDispose], 'function');
    await fresh[Symbol.asyncDispose]();
    await assert.rejects(fresh.stats(), fails('closed'));
  });

  test('topMachines(): the machines used most, from the core', async () => {
    const reg = await openRegistry({ storage: 'memory' });
    await reg.batch([1, 2, 2, 3, 3, 3].map((i) => ({ action: 'access', person: '', machine: machine(i), url: `http://m${i}/`, name: `m${i}`, quiet: true })));
    const top = await reg.topMachines({ limit: 2 });
    assert.equal(top.status, 200);
    assert.deepEqual(top.machines?.map((m) => [m.machine_guid, m.usages, m.url]), [[machine(3), 3, 'http://m3/'], [machine(2), 2, 'http://m2/']]);
    await assert.rejects(reg.topMachines({ limit: 0 }), fails('invalid', /limit/));
    const [raw] = await reg.batch([{ action: 'top', limit: '500' }]);
    assert.equal(raw.status, 400, "the core's own check");
    await reg.close();
  });

  test('status(): persisted, engine, and times in ms', async () => {
    const dir = await openRegistry({ storage: join(tmp, 'status') });
    const mem = await openRegistry({ storage: 'memory' });
    assert.equal((await dir.status()).persisted, true);
    assert.equal((await mem.status()).persisted, false);
    const before = Date.now();
    await dir.access('', machine(1), 'http://x/', 'x');
    await dir.save();
    const st = await dir.status();
    assert.ok(st.lastSave && st.lastSave.at >= before && st.lastSave.at <= Date.now(), 'lastSave.at is ms since the epoch');
    await Promise.all([dir.close(), mem.close()]);
  });
});
