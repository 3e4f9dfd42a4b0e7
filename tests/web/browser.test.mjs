// The browser host (dist/browser.js + dist/worker.js) in Debian's Chromium, one suite run
// against every storage variant: persistence across reloads, reloads during a save, several
// tabs on one registry.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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

/** @param {import('playwright-core').Page} page */
async function reload(page) {
  await page.reload();
  await page.waitForFunction(() => /** @type {any} */ (window).loaded);
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} name
 * @param {string} storage
 */
const open = (page, name, storage) => page.evaluate(([n, s]) => /** @type {any} */ (window).open(n, s), [name, storage]);
/** @param {import('playwright-core').Page} page */
const stats = (page) => page.evaluate(() => /** @type {any} */ (window).reg.stats());
/** @param {import('playwright-core').Page} page */
const status = (page) => page.evaluate(() => /** @type {any} */ (window).reg.status());

for (const storage of ['indexeddb', 'memory']) {
  const persistent = storage === 'indexeddb';

  describe(`browser host, storage '${storage}'`, () => {
    test('open, access, search, batch, errors', async () => {
      const page = await tab();
      const name = `basic-${++seq}`;
      assert.equal(await open(page, name, storage), true, 'the first tab owns the registry');
      const r = await page.evaluate(async () => {
        const w = /** @type {any} */ (window);
        const a = await w.reg.access('', w.machine(1), 'http://one.example/', 'one');
        const b = await w.reg.access(a.person, w.machine(2), 'http://two.example/', 'two');
        const s = await w.reg.search(a.person, w.machine(2), 'http://two.example/', w.machine(1));
        const bad = await w.reg.batch([
          { action: 'hello' },
          { action: 'access', person: '', machine: w.machine(3), url: `http://${'x'.repeat(70000)}/`, name: 'x' },
        ]).then(() => null, (e) => ({ name: e.name, code: e.code, message: e.message }));
        const n = await w.bulk(1000);
        return { a, b, s, bad, n, stats: await w.reg.stats(), status: await w.reg.status() };
      });
      assert.equal(r.a.status, 200);
      assert.equal(r.b.person, r.a.person);
      assert.deepEqual(r.b.urls.map((/** @type {any[]} */ u) => u[1]).sort(), ['http://one.example/', 'http://two.example/']);
      assert.equal(r.s.status, 200);
      assert.deepEqual(r.s.urls.map((/** @type {any[]} */ u) => u[1]), ['http://one.example/']);
      assert.equal(r.bad?.code, 'malformed');
      assert.match(r.bad?.message, /malformed request/);
      assert.equal(r.n, 1000);
      assert.equal(r.stats.accesses, 1002);
      assert.equal(r.stats.persons, 1001);
      assert.equal(r.status.storage, storage);
      assert.equal(r.status.owner, true);
      if (persistent) {
        assert.ok(r.status.lastCommit > 0, 'changes were committed to IndexedDB');
        assert.ok(r.status.files.some((/** @type {any} */ f) => /^registry\.log\.[123]$/.test(f.name) && f.size > 32));
      }
      assert.deepEqual(page.errors, []);
      await page.close();
    });

    test(persistent ? 'reload: the data is still there' : 'reload: a memory registry starts empty', async () => {
      const page = await tab();
      const name = `reload-${++seq}`;
      await open(page, name, storage);
      const person = await page.evaluate(async () => {
        const w = /** @type {any} */ (window);
        return (await w.reg.access('', w.machine(5), 'http://kept.example/', 'kept')).person;
      });
      await reload(page);
      await open(page, name, storage);
      const after = await page.evaluate(async (p) => {
        const w = /** @type {any} */ (window);
        return { stats: await w.reg.stats(), again: await w.reg.access(p, w.machine(5), 'http://kept.example/', 'kept') };
      }, person);
      if (persistent) {
        assert.equal(after.stats.accesses, 1);
        assert.equal(after.again.person, person, 'the person is known after the reload');
        assert.equal(after.again.urls[0][3], 2, 'usages continue');
      } else {
        assert.equal(after.stats.accesses, 0);
        assert.notEqual(after.again.person, person, 'an unknown person gets a new GUID');
      }
      await page.close();
    });

    test('two tabs writing concurrently: nothing lost', async () => {
      const name = `tabs-${++seq}`;
      const a = await tab();
      const b = await tab();
      assert.equal(await open(a, name, storage), true);
      assert.equal(await open(b, name, storage), false, 'the second tab forwards to the owner');
      const run = (/** @type {import('playwright-core').Page} */ p, /** @type {string} */ tag) =>
        p.evaluate(async (t) => {
          const w = /** @type {any} */ (window);
          await w.oneByOne(60, t);
          return w.bulk(500, t === 'a' ? 0 : 500);
        }, tag);
      const [na, nb] = await Promise.all([run(a, 'a'), run(b, 'b')]);
      assert.equal(na + nb, 1000);
      const [sa, sb] = await Promise.all([stats(a), stats(b)]);
      assert.equal(sa.accesses, 60 + 60 + 1000);
      assert.deepEqual(sb, sa, 'both tabs see the same registry');
      assert.equal((await status(b)).owner, false);
      assert.deepEqual([...a.errors, ...b.errors], []);
      await Promise.all([a.close(), b.close()]);
    });

    test('the owner tab goes away during writes: another tab takes over, nothing acknowledged is lost', async () => {
      const name = `takeover-${++seq}`;
      const a = await tab();
      const b = await tab();
      await open(a, name, storage);
      await open(b, name, storage);
      const before = await a.evaluate(() => /** @type {any} */ (window).bulk(200));
      assert.equal(before, 200);
      const writing = b.evaluate(() => /** @type {any} */ (window).oneByOne(150, 'b'));
      await b.waitForFunction(() => /** @type {any} */ (window).done >= 30);
      await a.close(); // the lock passes to b, which loads the committed files
      const person = await writing;
      assert.match(person, /^[0-9a-f-]{36}$/);
      const st = await status(b);
      assert.equal(st.owner, true);
      const s = await stats(b);
      if (persistent) {
        assert.equal(s.accesses, 200 + 150);
        const mine = await b.evaluate(async (p) => {
          const w = /** @type {any} */ (window);
          return (await w.reg.access(p, w.machine(1000), 'http://b-0.example/', 'b0')).urls.length;
        }, person);
        assert.equal(mine, 150, "all of b's URLs are linked to its person");
      } else {
        assert.ok(s.accesses > 0 && s.accesses < 150, `a new memory registry holds only the calls after the takeover (${s.accesses})`);
      }
      assert.deepEqual(b.errors, []);
      await b.close();
    });

    test('save, then a reload in the middle of a later save: the last committed state loads', { skip: persistent ? false : 'memory storage does not survive a reload' }, async () => {
      const page = await tab();
      const name = `midsave-${++seq}`;
      await open(page, name, storage);
      let total = await page.evaluate(() => /** @type {any} */ (window).bulk(5000, 0, 2000));
      const first = await page.evaluate(async () => {
        const t = performance.now();
        const r = await /** @type {any} */ (window).reg.save();
        return { ...r, ms: performance.now() - t };
      });
      assert.match(first.file, /^registry\.db\.[123]$/);
      // Reload at several points of a later save: before it runs, during it, during its commit.
      for (const frac of [0, 0.3, 0.6, 0.9, 1.5]) {
        total += await page.evaluate((from) => /** @type {any} */ (window).bulk(2000, from, 2000), total);
        await page.evaluate(() => {
          /** @type {any} */ (window).reg.save();
        });
        if (frac > 0) await page.waitForTimeout(first.ms * frac);
        await reload(page);
        await open(page, name, storage);
        const [s, st, check] = await Promise.all([stats(page), status(page), page.evaluate(() => /** @type {any} */ (window).reg.check())]);
        assert.equal(s.accesses, total, `reload at ${frac} of a save: every acknowledged access is there`);
        assert.match(String(st.snapshot), /^registry\.db\.[123]$/);
        assert.equal(check.healthy, true, `the module's check after a reload at ${frac}: ${JSON.stringify(check)}`);
      }
      assert.deepEqual(page.errors, []);
      await page.close();
    });
  });
}

test('a wrong wasm URL fails the open with a clear error and leaves the registry free', async () => {
  const page = await tab();
  const name = `badwasm-${++seq}`;
  const r = await page.evaluate(async (n) => {
    const w = /** @type {any} */ (window);
    const bad = await w.regwasm.openRegistry({ name: n, wasm: '/nowhere/registry.wasm' }).then(
      () => null,
      (/** @type {any} */ e) => ({ name: e.name, code: e.code, message: e.message }),
    );
    const good = await w.regwasm.openRegistry({ name: n });
    return { bad, owner: (await good.status()).owner };
  }, name);
  assert.equal(r.bad?.code, 'failed');
  assert.match(r.bad?.message, /404/);
  assert.equal(r.owner, true, 'the lock was released: the next open owns the registry');
  await page.close();
});

test('a trap in the worker: the instance is replaced, its files reloaded, later calls work', async () => {
  const page = await tab();
  const r = await page.evaluate(async (n) => {
    const { WorkerClient } = await import('/web/src/worker-client.js');
    const { encodeRequest, decodeResponse } = await import('/web/src/codec.js');
    const { client } = await WorkerClient.create({ name: n, storage: 'indexeddb', wasm: '/dist/registry.wasm', worker: '/dist/worker.js' });
    const req = (/** @type {any[]} */ a) => client.call('request', encodeRequest(a)).then(decodeResponse);
    const [a] = await req([{ action: 'access', person: '', machine: '00000000-0000-4000-8000-000000000009', url: 'http://t/', name: 't' }]);
    const trap = await client.call('trap').then(() => null, (/** @type {any} */ e) => ({ code: e.code, message: e.message }));
    const [b] = await req([{ action: 'access', person: a.person, machine: '00000000-0000-4000-8000-000000000009', url: 'http://t/', name: 't' }]);
    const status = await client.call('status');
    client.terminate();
    return { a, trap, b: { person: b.person, usages: JSON.parse(b.body).urls[0][3] }, traps: status.traps };
  }, `trap-${++seq}`);
  assert.equal(r.trap?.code, 'trap');
  assert.match(r.trap?.message, /panic: registry: trap requested by the host/, "the module's panic text is in the error");
  assert.equal(r.b.person, r.a.person);
  assert.equal(r.b.usages, 2);
  assert.equal(r.traps, 1);
  await page.close();
});

test('a failed IndexedDB commit: the calls since the last commit fail, and memory goes back to what was committed', async () => {
  const page = await tab();
  const r = await page.evaluate(async (n) => {
    const { WorkerClient } = await import('/web/src/worker-client.js');
    const { encodeRequest, decodeResponse } = await import('/web/src/codec.js');
    const open = () => WorkerClient.create({ name: n, storage: 'indexeddb', wasm: '/dist/registry.wasm', worker: '/dist/worker.js' });
    let { client } = await open();
    const req = (/** @type {any[]} */ a) => client.call('request', encodeRequest(a)).then(decodeResponse);
    const access = (/** @type {number} */ i) => req([{ action: 'access', person: '', machine: `00000000-0000-4000-8000-00000000000${i}`, url: `http://c${i}/`, name: 'c', quiet: true }]);
    const persons = async () => JSON.parse((await req([{ action: 'stats' }]))[0].body).persons;
    await access(1); // committed
    await client.call('failNextCommit');
    // Two calls made together: the first waits for the commit that fails; the second fails
    // with it, or (when it reaches the worker after the reload) runs on the committed state.
    const failed = await Promise.allSettled([access(2), access(3)]);
    const afterFailure = await persons();
    await access(4); // the next commit works
    const afterNext = await persons();
    client.terminate();
    ({ client } = await open()); // what IndexedDB holds
    const reopened = await persons();
    const urls = JSON.parse((await req([{ action: 'stats' }]))[0].body).urls;
    client.terminate();
    return { failed: failed.map((f) => (f.status === 'rejected' ? /** @type {any} */ (f.reason).code : 'ok')), afterFailure, afterNext, reopened, urls };
  }, `commitfail-${++seq}`);
  assert.equal(r.failed[0], 'persist', 'the call whose changes were not committed is refused');
  const acknowledged = 1 + r.failed.filter((f) => f === 'ok').length;
  assert.equal(r.afterFailure, acknowledged, `memory holds exactly the acknowledged changes (${r.failed})`);
  assert.equal(r.afterNext, acknowledged + 1);
  assert.equal(r.reopened, r.afterNext, 'IndexedDB holds what memory holds: the acknowledged changes');
  assert.equal(r.urls, r.afterNext);
  assert.deepEqual(page.errors, []);
  await page.close();
});
