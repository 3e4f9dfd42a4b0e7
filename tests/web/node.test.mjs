// The Node host (dist/node.js) against the real module: files on disk, memory, batches,
// errors, trap recovery.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openRegistry, RegistryError } from '../../dist/node.js';
import { Engine } from '../../web/src/engine.js';
import { FlatDirectory, preopenRoot } from '../../web/src/memfs.js';
import { shimWasi } from '../../web/src/shim.js';
import { compileWasm } from '../../web/src/wasm-node.js';
import { accesses, machine, WASM } from './helpers.mjs';

const tmp = await mkdtemp(join(tmpdir(), 'regwasm-node-'));
after(() => rm(tmp, { recursive: true, force: true }));

test('directory: open, access, close, reopen: the data is there', async () => {
  const dir = join(tmp, 'reopen');
  const reg = await openRegistry({ storage: dir });
  const a = await reg.access('', machine(1), 'http://one.example/', 'one');
  assert.equal(a.status, 200);
  assert.match(a.person, /^[0-9a-f-]{36}$/);
  assert.deepEqual(a.urls?.map((u) => u[1]), ['http://one.example/']);
  const b = await reg.access(a.person, machine(2), 'http://two.example/', 'two');
  assert.equal(b.person, a.person);
  await reg.close();
  const names = await readdir(dir);
  assert.ok(names.includes('registry.log.1'), `files: ${names}`);

  // Without a save: the change log is replayed.
  const again = await openRegistry({ storage: dir });
  const c = await again.access(a.person, machine(1), 'http://one.example/', 'one');
  assert.equal(c.person, a.person);
  assert.deepEqual(c.urls?.map((u) => u[1]).sort(), ['http://one.example/', 'http://two.example/']);
  const one = c.urls?.find((u) => u[1] === 'http://one.example/');
  assert.equal(one?.[3], 2, 'usages of a re-accessed URL');
  const saved = await again.save();
  assert.match(saved.file, /^registry\.db\.[123]$/);
  const st = await again.status();
  assert.equal(st.lastSave?.file, saved.file);
  assert.ok(st.files.some((f) => f.name === saved.file));
  await again.close();

  // After a save: the snapshot (plus the compacted log).
  const third = await openRegistry({ storage: dir });
  const stats = await third.stats();
  assert.equal((await third.check()).healthy, true);
  assert.equal(stats.persons, 1);
  assert.equal(stats.machines, 2);
  assert.equal(stats.accesses, 3);
  await third.close();
});

test('memory storage: works, and two memory registries are independent', async () => {
  const a = await openRegistry({ storage: 'memory' });
  const b = await openRegistry({ storage: 'memory' });
  await a.access('', machine(1), 'http://a/', 'a');
  assert.equal((await a.stats()).persons, 1);
  assert.equal((await b.stats()).persons, 0);
  const saved = await a.save();
  assert.match(saved.file, /^registry\.db\.[123]$/);
  assert.ok((await a.status()).files.some((f) => f.name === saved.file));
  await Promise.all([a.close(), b.close()]);
});

test('hello, config and stats answer the JSON of ABI.md', async () => {
  const reg = await openRegistry({ storage: 'memory' });
  const hello = await reg.hello();
  assert.equal(hello.status, 200);
  assert.equal(hello.action, 'hello');
  assert.equal(hello.statusText, 'ok');
  assert.match(String(hello.machine_guid), /^[0-9a-f-]{36}$/);
  const config = await reg.config();
  assert.equal(config['max URL length'], 1024);
  assert.equal(config['machine guid'], hello.machine_guid);
  const stats = await reg.stats();
  assert.deepEqual(Object.keys(stats.storage ?? {}).sort(), ['generation', 'last_save', 'log_bytes', 'log_records', 'mode', 'saved_seq', 'seq', 'snapshot', 'unsaved']);
  assert.equal(stats.storage?.snapshot, 'registry.db.1', 'a new registry starts with its empty snapshot');
  await reg.close();
});

test('batch: many quiet accesses in one request', async () => {
  const reg = await openRegistry({ storage: 'memory' });
  const results = await reg.batch(accesses(2000, { machines: 100 }));
  assert.equal(results.length, 2000);
  assert.ok(results.every((r) => r.status === 200 && /^[0-9a-f-]{36}$/.test(r.person) && r.urls === undefined));
  assert.equal(new Set(results.map((r) => r.person)).size, 2000, 'a new person each');
  const stats = await reg.stats();
  assert.equal(stats.persons, 2000);
  assert.equal(stats.machines, 100);
  assert.equal(stats.accesses, 2000);
  await reg.close();
});

test('action failures are results; a malformed batch changes nothing', async () => {
  const reg = await openRegistry({ storage: 'memory' });
  const bad = await reg.access('', 'not-a-guid', 'http://x/', 'x');
  assert.equal(bad.status, 400, 'a malformed machine is the client\'s error (netdata: 500)');
  assert.equal(bad.statusText, 'failed');
  assert.match(String(bad.error), /machine/);
  await assert.rejects(
    reg.batch([
      { action: 'access', person: '', machine: machine(1), url: 'http://fine/', name: 'fine' },
      { action: 'access', person: '', machine: machine(2), url: `http://${'x'.repeat(70000)}/`, name: 'long' },
    ]),
    (e) => e instanceof RegistryError && e.code === 'malformed' && /^registry: malformed request: [ -~]+$/.test(e.message),
  );
  assert.equal((await reg.stats()).accesses, 0, 'the valid first action was not applied');
  await reg.close();
  await assert.rejects(reg.stats(), (e) => e instanceof RegistryError && e.code === 'closed');
});

test('one directory cannot be opened twice in a process', async () => {
  const dir = join(tmp, 'twice');
  const reg = await openRegistry({ storage: dir });
  await assert.rejects(openRegistry({ storage: dir }), (e) => e instanceof RegistryError && e.code === 'locked');
  await reg.close();
  const again = await openRegistry({ storage: dir });
  await again.close();
});

test('a trap replaces the instance, reloads the files, and reports the call', async () => {
  const module = await compileWasm(WASM);
  const dir = new FlatDirectory(new Map(), null);
  let armed = false;
  let fired = 0;
  const onImport = (/** @type {string} */ name) => {
    if (armed && (name === 'fd_write' || name === 'fd_pwrite')) {
      armed = false;
      fired++;
      throw new Error('injected fault');
    }
  };
  const engine = await Engine.create({ module, makeWasi: () => shimWasi(preopenRoot(dir), { onImport }) });
  const { encodeRequest, decodeResponse } = await import('../../web/src/codec.js');
  const run = (/** @type {any[]} */ actions) => decodeResponse(engine.request(encodeRequest(actions)));

  const [first] = run([{ action: 'access', person: '', machine: machine(1), url: 'http://before/', name: 'b' }]);
  assert.equal(first.status, 200);
  armed = true;
  assert.throws(
    () => run([{ action: 'access', person: first.person, machine: machine(2), url: 'http://during/', name: 'd' }]),
    (e) => e.name === 'RegistryError' && e.code === 'trap' && /injected fault/.test(e.message),
  );
  assert.equal(fired, 1, 'the module wrote its change log during the request');
  assert.equal(engine.traps, 1);
  // The new instance loaded the files: the first access is there, the registry works.
  const [st] = run([{ action: 'stats' }]);
  assert.ok(JSON.parse(st.body).accesses >= 1);
  const [again] = run([{ action: 'access', person: first.person, machine: machine(1), url: 'http://before/', name: 'b' }]);
  assert.equal(again.person, first.person, 'the person survived the trap');
  engine.close();
});

test("the module's trap export: the instance is replaced and the data survives", async () => {
  const module = await compileWasm(WASM);
  const dir = new FlatDirectory(new Map(), null);
  const engine = await Engine.create({ module, makeWasi: () => shimWasi(preopenRoot(dir)) });
  const { encodeRequest, decodeResponse } = await import('../../web/src/codec.js');
  const run = (/** @type {any[]} */ actions) => decodeResponse(engine.request(encodeRequest(actions)));
  const [a] = run([{ action: 'access', person: '', machine: machine(7), url: 'http://kept/', name: 'k' }]);
  assert.throws(() => engine.trap(), (e) => e.name === 'RegistryError' && e.code === 'trap' && /unreachable|trap/i.test(e.message));
  assert.equal(engine.traps, 1);
  const [b] = run([{ action: 'access', person: a.person, machine: machine(7), url: 'http://kept/', name: 'k' }]);
  assert.equal(b.person, a.person);
  assert.equal(JSON.parse(b.body).urls[0][3], 2, 'usages continue from the reloaded state');
  engine.close();
});

test('configure: netdata.conf [registry] keys change the settings and persist; bad ones change nothing', async () => {
  const dir = join(tmp, 'configure');
  const reg = await openRegistry({ storage: dir });
  const ok = await reg.configure('[global]\n\thostname = x\n[registry]\n\tmax URL name length = 12\n\tverify browser cookies support = no\n');
  assert.equal(ok.status, 200);
  const a = await reg.access('', machine(1), 'http://one.example/', 'a name longer than twelve');
  assert.equal(a.urls?.[0]?.[4], 'a name longe');
  const bad = await reg.configure('[registry]\n\tmax URL name length = twelve\n');
  assert.equal(bad.status, 400);
  assert.match(String(bad.error), /line 2/);
  await reg.close();
  const again = await openRegistry({ storage: dir });
  const set = /** @type {any} */ (await again.config());
  assert.equal(set['max URL name length'], 12);
  assert.equal(set['verify browser cookies support'], false);
  await again.close();
});
