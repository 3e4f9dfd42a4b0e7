// The dashboard page (dist/index.html) in Chromium: as a static page running the registry
// client-side (IndexedDB), served with a /api/v1/registry it talks to over HTTP, and served by
// the real `regwasm serve` with the operator's overview. Layout is checked at 1280x900 and at
// 390 px wide (no horizontal overflow, every button clickable, no element over another), with
// screenshots in tests/out/; so are the failure states.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

/** The person's URLs as the page lists them. @param {import('playwright-core').Page} page */
const rows = (page) =>
  page.$$eval('#machines li.url', (lis) =>
    lis.map((li) => ({
      machine: li.getAttribute('data-machine'),
      url: li.getAttribute('data-url'),
      last: Number(li.getAttribute('data-last')),
      usages: Number(li.getAttribute('data-usages')),
      text: li.textContent ?? '',
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
  await page.waitForFunction((n) => document.querySelectorAll('#machines li.url').length > n, before);
}

/**
 * The layout at the page's current size: nothing wider than the viewport, every visible
 * button reachable by a click at its centre (no element over it), relative times on one line,
 * no empty message band. Saves a full-page screenshot as tests/out/<name>.png.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
async function checkLayout(page, name) {
  const r = await page.evaluate(async () => {
    const doc = document.documentElement;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e instanceof HTMLElement && e.offsetParent !== null && e.getBoundingClientRect().right > innerWidth + 0.5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className}`)
      .slice(0, 5);
    /** @type {string[]} */
    const blocked = [];
    for (const b of document.querySelectorAll('button, .button')) {
      if (!(b instanceof HTMLElement) || b.offsetParent === null || b.closest('[hidden]')) continue;
      b.scrollIntoView({ block: 'center', inline: 'center' });
      await new Promise((res) => requestAnimationFrame(() => res(undefined)));
      const box = b.getBoundingClientRect();
      const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
      if (!hit || !(hit === b || b.contains(hit))) blocked.push(`${b.textContent?.trim()} under ${hit?.tagName.toLowerCase()}#${hit?.id}.${hit?.className}`);
    }
    scrollTo(0, 0);
    const lines = [...document.querySelectorAll('.when')]
      .filter((e) => e instanceof HTMLElement && e.offsetParent !== null)
      .map((e) => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight));
    const message = /** @type {HTMLElement} */ (document.querySelector('#message'));
    return {
      scrollWidth: doc.scrollWidth,
      innerWidth,
      wide,
      blocked,
      maxLines: Math.max(0, ...lines),
      emptyBand: !message.hidden && (message.textContent ?? '').trim() === '',
    };
  });
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  assert.ok(r.scrollWidth <= r.innerWidth, `${name}: the page is ${r.scrollWidth} px wide in a ${r.innerWidth} px viewport: ${r.wide.join(', ')}`);
  assert.deepEqual(r.blocked, [], `${name}: buttons another element covers`);
  assert.ok(r.maxLines < 1.6, `${name}: a relative time wraps (${r.maxLines.toFixed(1)} lines)`);
  assert.equal(r.emptyBand, false, `${name}: an empty message band`);
}

test('static page, registry in the browser: machines grouped, delete confirmed, switch, stats, storage, layout', async () => {
  const server = await serve(DIST);
  try {
    const page = await browser.page();
    await page.setViewportSize(DESKTOP);
    await page.goto(`${server.url}/?source=local&name=dash-local`);
    await page.waitForSelector('body[data-ready=true]');
    assert.match((await page.textContent('#source')) ?? '', /this browser \(indexeddb/);
    assert.equal(await page.$eval('#access-form button', (b) => b.matches(':disabled')), false, 'the forms are enabled once ready');
    let list = await rows(page);
    assert.equal(list.length, 1, "the dashboard's own access");
    const person = (await page.textContent('#person')) ?? '';
    assert.match(person, /^[0-9a-f-]{36}$/);

    await recordAccess(page, machine(11), 'http://alpha.example:19999/', 'alpha');
    await recordAccess(page, machine(12), 'http://beta.example:19999/', 'beta');
    await recordAccess(page, machine(12), 'http://beta-alt.example:19999/', 'beta');
    list = await rows(page);
    assert.deepEqual(list.map((r) => r.url).sort(), [`${server.url}/`, 'http://alpha.example:19999/', 'http://beta-alt.example:19999/', 'http://beta.example:19999/'].sort());
    // Grouped by machine, as netdata's menu: beta's machine has its two URLs, the one used
    // last first, the other marked as an alternate.
    const beta = await page.$$eval(`#machines li.machine[data-machine="${machine(12)}"] li.url`, (lis) =>
      lis.map((li) => ({ url: li.getAttribute('data-url'), last: Number(li.getAttribute('data-last')), text: li.textContent ?? '' })),
    );
    assert.deepEqual(beta.map((b) => b.url).sort(), ['http://beta-alt.example:19999/', 'http://beta.example:19999/']);
    assert.ok(beta[0].last >= beta[1].last);
    assert.deepEqual(beta.map((b) => /alternate/.test(b.text)), [false, true]);
    assert.equal(await page.locator('#machines li.machine').count(), 3);
    assert.match((await page.textContent('#machines-count')) ?? '', /3 machines, 4 URLs/);
    const groups = await page.$$eval('#machines li.machine', (lis) => lis.map((li) => Number(li.querySelector('li.url')?.getAttribute('data-last'))));
    for (let i = 1; i < groups.length; i++) assert.ok(groups[i - 1] >= groups[i], 'machines sorted by last access, newest first');

    // Delete asks first: one click arms it, cancel disarms, a second click deletes.
    const del = `#machines li.url[data-url="http://alpha.example:19999/"] button.delete`;
    await page.click(del);
    assert.equal(await page.textContent(del), 'confirm delete');
    await page.click(`#machines li.url[data-url="http://alpha.example:19999/"] button.cancel`);
    assert.equal(await page.textContent(del), 'delete');
    assert.ok(await page.$('#machines li.url[data-url="http://alpha.example:19999/"]'), 'nothing deleted without the confirmation');
    await page.click(del);
    await page.click(del);
    await page.waitForFunction(() => !document.querySelector('#machines li.url[data-url="http://alpha.example:19999/"]'));
    assert.match((await page.textContent('#message')) ?? '', /deleted/);

    await page.click('#save');
    await page.waitForFunction(() => /saved registry\.db\./.test(document.querySelector('#message')?.textContent ?? ''));
    await page.waitForFunction(() => /registry\.db\.[123]/.test(document.querySelector('dd[data-key="snapshot file"]')?.textContent ?? ''));
    assert.match((await page.textContent('dd[data-key=persistent]')) ?? '', /yes|no/);

    // Reload: IndexedDB kept the person and machines (the delete too).
    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    assert.equal(await page.textContent('#person'), person);
    list = await rows(page);
    assert.deepEqual(list.map((r) => r.url).sort(), [`${server.url}/`, 'http://beta-alt.example:19999/', 'http://beta.example:19999/'].sort());
    assert.equal(list.find((r) => r.url === `${server.url}/`)?.usages, 2, 'the dashboard visited twice');
    assert.equal(await page.textContent('#stat-persons'), '1');
    assert.equal(await page.textContent('dd[data-key=storage]'), 'indexeddb');
    assert.match((await page.textContent('dd[data-key=files]')) ?? '', /registry\.log\.[123]/);
    assert.match((await page.textContent('dd[data-key="last save"]')) ?? '', /ago.*registry\.db\.[123]/, 'the last save, after a reload too');
    const dashes = await page.$$eval('#chart polyline', (ps) => ps.map((p) => p.getAttribute('stroke-dasharray') ?? 'solid'));
    assert.equal(dashes.length, 2, 'two series in the chart');
    assert.notEqual(dashes[0], dashes[1], 'equal series stay distinguishable');
    assert.equal(await page.locator('#chart-legend .key').count(), 2);
    assert.equal(await page.locator('#overview-section').isHidden(), true, 'no server overview for a local registry');

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
    await other.waitForFunction(() => !!document.querySelector('#machines li.url[data-url="http://beta.example:19999/"]'));
    await other.close();

    // A long URL without a place to break (what pushed the old table's delete buttons under
    // the next column at 1280 px, and the page to 1030 px at 390).
    await recordAccess(page, machine(13), 'http://monitoringagent1.datacenterone.example.com:19999/netdata/dashboard/v2', 'a rather long machine name for a card');
    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    await checkLayout(page, 'dashboard-1280');
    await page.setViewportSize(PHONE);
    await checkLayout(page, 'dashboard-390');
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    await server.close();
  }
});

test('backup and restore from the page: download, then restore into another registry', async () => {
  const server = await serve(DIST);
  try {
    const page = await browser.page();
    await page.goto(`${server.url}/?source=local&name=dash-backup`);
    await page.waitForSelector('body[data-ready=true]');
    await recordAccess(page, machine(31), 'http://kept.example:19999/', 'kept');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const file = join(OUT, 'dashboard-backup.db');
    await download.saveAs(file);
    await page.goto(`${server.url}/?source=local&name=dash-restored`);
    await page.waitForSelector('body[data-ready=true]');
    assert.equal(await page.textContent('#stat-persons'), '1', 'a fresh registry: this visit only');
    await page.setInputFiles('#import', file);
    await page.waitForFunction(() => /restored/.test(document.querySelector('#message')?.textContent ?? ''));
    await page.waitForFunction(() => document.querySelector('#stat-persons')?.textContent === '2');
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    await server.close();
  }
});

test('failure states: a start that fails says why and disables the forms; a page opened from disk says to serve it', async () => {
  // dist/ without registry.wasm: the registry cannot start.
  const broken = mkdtempSync(join(tmpdir(), 'regwasm-dash-broken-'));
  for (const f of readdirSync(DIST)) if (f !== 'registry.wasm') copyFileSync(join(DIST, f), join(broken, f));
  const server = await serve(broken);
  try {
    const page = await browser.page();
    await page.setViewportSize(DESKTOP);
    await page.goto(`${server.url}/?source=local&name=dash-broken`);
    await page.waitForSelector('body[data-ready=error]');
    assert.match((await page.textContent('#message')) ?? '', /could not start.*registry\.wasm.*404/s);
    assert.equal(await page.getAttribute('#message', 'class'), 'error');
    assert.equal(await page.textContent('#source'), 'failed to start');
    assert.equal(await page.$eval('#access-form button', (b) => b.matches(':disabled')), true, 'forms stay disabled');
    await page.screenshot({ path: join(OUT, 'dashboard-failed.png'), fullPage: true });
    await page.goto(`${server.url}/?source=http`);
    await page.waitForSelector('body[data-ready=error]');
    assert.match((await page.textContent('#message')) ?? '', /no registry API answered/);

    await page.goto(pathToFileURL(join(DIST, 'index.html')).href);
    await page.waitForSelector('body[data-ready=error]');
    assert.match((await page.textContent('#message')) ?? '', /must be served over HTTP/);
    await page.screenshot({ path: join(OUT, 'dashboard-file.png'), fullPage: true });
    await page.close();
  } finally {
    await server.close();
    rmSync(broken, { recursive: true, force: true });
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
    assert.equal(await page.locator('#overview-section').isHidden(), true, 'this server has no overview');
    // The one probe for the overview is answered 404, and not asked again.
    assert.deepEqual(page.errors, ['Failed to load resource: the server responded with a status of 404 (Not Found)']);
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
    close: () =>
      new Promise((r) => {
        child.on('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

test('served by `regwasm serve`: the cookie check, then the operator overview (counts over time, storage health, top machines)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'regwasm-serve-'));
  const server = await regwasmServe(dir);
  try {
    const page = await browser.page();
    await page.setViewportSize(DESKTOP);
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

    // machine 41 used most (5 times: more than the dashboard's own visits), then 42 once.
    for (const [i, n] of [[41, 5], [42, 1]]) {
      const url = `http://m${i}.example:19999/`;
      for (let k = 1; k <= n; k++) {
        await page.fill('#access-form input[name=machine]', machine(i));
        await page.fill('#access-form input[name=url]', url);
        await page.fill('#access-form input[name=name]', `m${i}`);
        await page.click('#access-form button[type=submit]');
        await page.waitForSelector(`#machines li.url[data-url="${url}"][data-usages="${k}"]`);
      }
    }
    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    await page.waitForSelector('#overview-section:not([hidden])');
    const top = await page.$$eval('#top tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-machine'), tr.querySelector('td.num')?.textContent]));
    assert.deepEqual(top[0], [machine(41), '5'], 'the machine used most comes first');
    assert.equal(await page.locator('#overview-charts figure').count(), 4, 'persons, machines, URLs, accesses over time');
    assert.equal(await page.locator('#overview-charts polyline').count(), 4);
    assert.match((await page.textContent('#health')) ?? '', /healthy/);
    assert.match((await page.textContent('#overview-storage dd[data-key=log]')) ?? '', /changes since the snapshot/);
    assert.equal(await page.locator('#local-chart').isHidden(), true, "the server's history replaces the page's samples");
    await page.click('#verify');
    await page.waitForFunction(() => /every file verified/.test(document.querySelector('#message')?.textContent ?? ''));
    await checkLayout(page, 'dashboard-serve-1280');
    await page.setViewportSize(PHONE);
    await checkLayout(page, 'dashboard-serve-390');
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
