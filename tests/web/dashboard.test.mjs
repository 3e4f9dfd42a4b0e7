// The dashboard page (dist/index.html) in Chromium: as a static page running the registry
// client-side (IndexedDB), and served with a /api/v1/registry it talks to over HTTP.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { registryApi } from './fixtures/api.mjs';
import { DIST, launch, machine, OUT, ROOT, serve } from './helpers.mjs';

/** @type {Awaited<ReturnType<typeof launch>>} */
let browser;
before(async () => {
  mkdirSync(OUT, { recursive: true });
  browser = await launch();
});
after(() => browser?.close());

/** @param {import('playwright-core').Page} page */
const rows = (page) =>
  page.$$eval('#machines tbody tr', (trs) =>
    trs.map((tr) => ({
      url: tr.getAttribute('data-url'),
      last: Number(tr.getAttribute('data-last')),
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
    })),
  );

/**
 * @param {import('playwright-core').Page} page
 * @param {string} guid @param {string} url @param {string} name
 */
async function recordAccess(page, guid, url, name) {
  const before = (await rows(page)).length;
  await page.fill('#access-form input[name=machine]', guid);
  await page.fill('#access-form input[name=url]', url);
  await page.fill('#access-form input[name=name]', name);
  await page.click('#access-form button[type=submit]');
  await page.waitForFunction((n) => document.querySelectorAll('#machines tbody tr').length > n, before);
}

test('static page, registry in the browser: machines, delete, switch, stats, storage', async () => {
  const server = await serve(DIST);
  try {
    const page = await browser.page();
    await page.goto(`${server.url}/?source=local&name=dash-local`);
    await page.waitForSelector('body[data-ready=true]');
    assert.match(await page.textContent('#source') ?? '', /this browser \(indexeddb/);
    let list = await rows(page);
    assert.equal(list.length, 1, "the dashboard's own access");
    const person = (await page.textContent('#person')) ?? '';
    assert.match(person, /^[0-9a-f-]{36}$/);

    await recordAccess(page, machine(11), 'http://alpha.example:19999/', 'alpha');
    await recordAccess(page, machine(12), 'http://beta.example:19999/', 'beta');
    list = await rows(page);
    assert.deepEqual(list.map((r) => r.url).sort(), [`${server.url}/`, 'http://alpha.example:19999/', 'http://beta.example:19999/'].sort());
    for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].last >= list[i].last, 'sorted by last access, newest first');
    const beta = list.find((r) => r.url === 'http://beta.example:19999/');
    assert.equal(beta?.cells[1], 'beta');
    assert.match(beta?.cells[2] ?? '', /ago\)$/, 'readable time');
    assert.equal(beta?.cells[3], '1');

    await page.click('#machines tbody tr[data-url="http://alpha.example:19999/"] button');
    await page.waitForFunction(() => !document.querySelector('#machines tbody tr[data-url="http://alpha.example:19999/"]'));
    assert.match((await page.textContent('#message')) ?? '', /deleted/);

    await page.click('#save');
    await page.waitForFunction(() => /saved registry\.db\./.test(document.querySelector('#message')?.textContent ?? ''));
    await page.waitForFunction(() => /registry\.db\.[123]/.test(document.querySelector('dd[data-key="snapshot file"]')?.textContent ?? ''));

    // Reload: IndexedDB kept the person and machines (the delete too).
    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    assert.equal(await page.textContent('#person'), person);
    list = await rows(page);
    assert.deepEqual(list.map((r) => r.url).sort(), [`${server.url}/`, 'http://beta.example:19999/'].sort());
    assert.equal(list.find((r) => r.url === `${server.url}/`)?.cells[3], '2', 'the dashboard visited twice');
    assert.equal(await page.textContent('#stat-persons'), '1');
    assert.equal(await page.textContent('dd[data-key=storage]'), 'indexeddb');
    assert.match((await page.textContent('dd[data-key=files]')) ?? '', /registry\.log\.[123]/);
    assert.equal(await page.locator('#chart polyline').count(), 2, 'two series in the chart');

    // Switch identity: to a person that has used this dashboard too (netdata's rule).
    const other = await browser.page();
    await other.goto(`${server.url}/?source=local&name=dash-local`);
    await other.waitForSelector('body[data-ready=true]');
    await other.evaluate(() => localStorage.removeItem('regwasm.dashboard.person'));
    await other.reload();
    await other.waitForSelector('body[data-ready=true]');
    const second = (await other.textContent('#person')) ?? '';
    assert.notEqual(second, person);
    await other.fill('#switch-form input[name=to]', person);
    await other.click('#switch-form button[type=submit]');
    await other.waitForFunction((p) => document.querySelector('#person')?.textContent === p, person);
    await other.waitForFunction(() => !!document.querySelector('#machines tbody tr[data-url="http://beta.example:19999/"]'));
    await other.close();

    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    await server.close();
  }
});

test('served with /api/v1/registry: the dashboard talks to it over HTTP', async () => {
  const api = await registryApi();
  const server = await serve(DIST, { api: api.handler });
  try {
    const page = await browser.page();
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-ready=true]');
    assert.match((await page.textContent('#source')) ?? '', /server 127\.0\.0\.1/);
    assert.equal((await rows(page)).length, 1);
    await recordAccess(page, machine(21), 'http://gamma.example:19999/', 'gamma');
    const list = await rows(page);
    assert.deepEqual(list.map((r) => r.url).sort(), [`${server.url}/`, 'http://gamma.example:19999/'].sort());
    const cookies = await page.context().cookies(server.url);
    const id = cookies.find((c) => c.name === 'netdata_registry_id')?.value;
    assert.equal(id, await page.textContent('#person'), 'the identity is the cookie');
    assert.equal(await page.textContent('#stat-accesses'), '2');
    assert.match((await page.textContent('dd[data-key=storage]')) ?? '', /server/);
    await page.screenshot({ path: join(OUT, 'dashboard-http.png'), fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    await server.close();
    await api.close();
  }
});

/**
 * Starts the real `regwasm serve` (built from this checkout) on a free port, serving dist/.
 * @param {string} dir data directory
 */
async function regwasmServe(dir) {
  const bin = join(OUT, 'regwasm-dashboard-test');
  execFileSync('go', ['build', '-o', bin, './host/cmd/regwasm'], { cwd: ROOT, stdio: 'inherit' });
  const child = spawn(bin, ['serve', '--dir', dir, '--addr', '127.0.0.1:0', '--web', DIST, '--save-every', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (/** @type {Buffer} */ b) => {
      out += b;
      const m = /on (http:\/\/[0-9.:]+)\//.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`regwasm serve exited ${code}: ${out}`)));
  });
  return {
    url: /** @type {string} */ (url),
    close: () => new Promise((r) => {
      child.on('exit', r);
      child.kill('SIGTERM');
    }),
  };
}

test('served by `regwasm serve`: the cookie check redirects once, then the access is recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'regwasm-serve-'));
  const server = await regwasmServe(dir);
  try {
    const page = await browser.page();
    // Cookies ignore the port: an earlier test's cookie for 127.0.0.1 would skip the check.
    await page.context().clearCookies();
    /** @type {string[]} */
    const accesses = [];
    page.on('request', (req) => {
      if (/action=access/.test(req.url())) accesses.push(req.url());
    });
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-ready=true]');
    assert.match((await page.textContent('#source')) ?? '', /server 127\.0\.0\.1/);
    assert.equal(accesses.length, 2, 'a first access without identity is answered "redirect", the dashboard asks again');
    assert.equal((await rows(page)).length, 1, "the dashboard's own access");
    const id = (await page.context().cookies()).find((c) => c.name === 'netdata_registry_id')?.value;
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    assert.notEqual(id, '11111111-2222-3333-4444-555555555555', "netdata's test cookie was replaced");
    assert.equal(id, await page.textContent('#person'));
    assert.equal(await page.textContent('#stat-persons'), '1');
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
