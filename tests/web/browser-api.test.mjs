// The browser host's API in Chromium: events between tabs (changes, ownership, a memory
// registry's reset, destroy), backup and restore (export/import), destroy(), options
// objects, argument errors, AbortSignal, and status().persisted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, ROOT, serve } from './helpers.mjs';

/** @type {Awaited<ReturnType<typeof serve>>} */
let server;
/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
let seq = 0;

before(async () => {
  server = await serve(ROOT);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function tab() {
  const page = await browser.page();
  await page.goto(`${server.url}/tests/web/fixtures/page.html`);
  await page.waitForFunction(() => /** @type {any} */ (window).loaded);
  return page;
}

/**
 * Opens registry `name` in `page` and records its events in window.events.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 * @param {string} storage
 */
const open = (page, name, storage) =>
  page.evaluate(
    async ([n, s]) => {
      const w = /** @type {any} */ (window);
      w.events = [];
      w.reg = await w.regwasm.openRegistry({ name: n, storage: s });
      for (const type of ['change', 'owner', 'reset', 'close', 'failed']) w.reg.on(type, (/** @type {any} */ ev) => w.events.push(ev.type));
      return (await w.reg.status()).owner;
    },
    [name, storage],
  );
/** @param {import('playwright-core').Page} page */
const events = (page) => page.evaluate(() => /** @type {string[]} */ (/** @type {any} */ (window).events));

test('events: changes by other tabs, ownership moving, a memory registry resetting, close', async () => {
  for (const storage of ['indexeddb', 'memory']) {
    const name = `events-${++seq}`;
    const a = await tab();
    const b = await tab();
    assert.equal(await open(a, name, storage), true);
    assert.equal(await open(b, name, storage), false);
    await a.evaluate(async () => {
      const w = /** @type {any} */ (window);
      await w.reg.access('', w.machine(1), 'http://a.example/', 'a');
      await w.reg.stats(); // reads change nothing
    });
    await b.waitForFunction(() => /** @type {any} */ (window).events.includes('change'));
    assert.deepEqual(await events(b), ['change'], `${storage}: b heard a's change`);
    await b.evaluate(async () => {
      const w = /** @type {any} */ (window);
      await w.reg.access('', w.machine(2), 'http://b.example/', 'b');
    });
    await a.waitForFunction(() => /** @type {any} */ (window).events.includes('change'));
    assert.deepEqual(await events(a), ['change'], `${storage}: a heard b's forwarded change, not its own`);

    await a.evaluate(() => /** @type {any} */ (window).reg.close());
    assert.deepEqual(await events(a), ['change', 'close']);
    await b.waitForFunction(() => /** @type {any} */ (window).events.includes('owner'));
    const want = storage === 'memory' ? ['change', 'owner', 'reset'] : ['change', 'owner'];
    assert.deepEqual(await events(b), want, `${storage}: b took over`);
    const persons = await b.evaluate(async () => (await /** @type {any} */ (window).reg.stats()).persons);
    assert.equal(persons, storage === 'memory' ? 0 : 2, `${storage}: what b's registry holds after the takeover`);
    assert.deepEqual([...a.errors, ...b.errors], []);
    await Promise.all([a.close(), b.close()]);
  }
});

test('export, destroy, import: a backup restored; destroy closes the other tabs and deletes the database', async () => {
  const name = `backup-${++seq}`;
  const a = await tab();
  const b = await tab();
  await open(a, name, 'indexeddb');
  await open(b, name, 'indexeddb');
  const exported = await b.evaluate(async () => {
    const w = /** @type {any} */ (window);
    const first = await w.reg.access('', w.machine(1), 'http://one.example/', 'one');
    await w.bulk(300);
    const bytes = await w.reg.export(); // forwarded to the owner tab
    w.backup = bytes;
    return { person: first.person, size: bytes.byteLength, head: new TextDecoder().decode(bytes.subarray(0, 2)), stats: await w.reg.stats() };
  });
  assert.ok(exported.size > 1000);
  assert.match(exported.head, /^[A-Z]\t/);

  await b.evaluate(() => /** @type {any} */ (window).reg.destroy());
  await a.waitForFunction(() => /** @type {any} */ (window).events.includes('close'));
  const closed = await a.evaluate(() => /** @type {any} */ (window).reg.stats().then(() => null, (/** @type {any} */ e) => e.code));
  assert.equal(closed, 'closed', "the owner tab's registry was closed by the destroy");
  const dbs = await a.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  assert.ok(!dbs.includes(`regwasm:${name}`), `the database is gone: ${dbs}`);

  // Reopened: empty; the backup (from tab b, as a Blob) brings everything back.
  const bytes = await b.evaluate(() => Array.from(/** @type {Uint8Array} */ (/** @type {any} */ (window).backup)));
  const back = await a.evaluate(async ([n, data, person]) => {
    const w = /** @type {any} */ (window);
    const reg = await w.regwasm.openRegistry({ name: n });
    const empty = (await reg.stats()).persons;
    const r = await reg.import(new Blob([new Uint8Array(/** @type {number[]} */ (data))]));
    const again = await reg.access(person, w.machine(1), 'http://one.example/', 'one');
    const out = { empty, status: r.status, stats: await reg.stats(), person: again.person };
    await reg.close();
    return out;
  }, /** @type {const} */ ([name, bytes, exported.person]));
  assert.equal(back.empty, 0, 'a destroyed registry reopens empty');
  assert.equal(back.status, 200);
  for (const k of ['persons', 'machines', 'urls', 'person_urls']) assert.equal(back.stats[k], exported.stats[k], k);
  assert.equal(back.person, exported.person, 'the person is known after the restore');
  await Promise.all([a.close(), b.close()]);
});

test('options objects, argument errors, AbortSignal, status().persisted', async () => {
  const page = await tab();
  await open(page, `api-${++seq}`, 'indexeddb');
  const r = await page.evaluate(async () => {
    const w = /** @type {any} */ (window);
    const a = await w.reg.access({ machine: w.machine(1), url: 'http://one/', name: 'one' });
    const s = await w.reg.search({ person: a.person, machine: w.machine(1), url: 'http://one/', for: w.machine(1) });
    const err = (/** @type {Promise<any>} */ p) => p.then(() => null, (e) => ({ name: e.name, code: e.code, message: e.message }));
    const ac = new AbortController();
    ac.abort();
    return {
      a: a.status,
      s: s.urls.length,
      when: await err(w.reg.hello({ when: Date.now() })),
      person: await err(w.reg.access(123, w.machine(1), 'http://x/', 'x')),
      name: await err(w.regwasm.openRegistry({ name: 'a/b' })),
      string: await err(w.regwasm.openRegistry('name')),
      aborted: await err(w.reg.stats({ signal: ac.signal })),
      status: await w.reg.status(),
    };
  });
  assert.equal(r.a, 200);
  assert.equal(r.s, 1);
  assert.equal(r.when?.code, 'invalid');
  assert.match(r.when?.message, /seconds.*milliseconds/);
  assert.equal(r.person?.code, 'invalid');
  assert.equal(r.name?.code, 'invalid');
  assert.equal(r.string?.code, 'invalid');
  assert.equal(r.aborted?.code, 'aborted');
  assert.equal(typeof r.status.persisted, 'boolean');
  assert.equal(r.status.engine, 'worker');
  assert.deepEqual(page.errors, []);
  await page.close();
});
