// status().lastSave and stats().storage.last_save after a reopen report the snapshot's save
// time (issue 16), which the snapshot header records (storage format 2).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openRegistry } from '../../dist/node.js';
import { launch, machine, ROOT, serve } from './helpers.mjs';

const tmp = await mkdtemp(join(tmpdir(), 'regwasm-last-save-'));
after(() => rm(tmp, { recursive: true, force: true }));

test('Node: after a reopen, the last save is the snapshot\'s', async () => {
  const dir = join(tmp, 'node');
  const reg = await openRegistry({ storage: dir });
  await reg.access('', machine(1), 'http://x/', 'x');
  const t0 = Math.floor(Date.now() / 1000) * 1000;
  const saved = await reg.save();
  await reg.close();
  const again = await openRegistry({ storage: dir });
  const stats = await again.stats();
  const st = await again.status();
  assert.ok((stats.storage?.last_save ?? 0) * 1000 >= t0, `stats().storage.last_save ${stats.storage?.last_save}`);
  assert.equal(st.lastSave?.file, saved.file);
  assert.ok((st.lastSave?.at ?? 0) >= t0 && (st.lastSave?.at ?? 0) <= Date.now(), `status().lastSave ${JSON.stringify(st.lastSave)}`);
  await again.close();
});

test('browser (IndexedDB): after a reload, the last save is the snapshot\'s', async () => {
  const server = await serve(ROOT);
  const browser = await launch();
  try {
    const page = await browser.page();
    await page.goto(`${server.url}/tests/web/fixtures/page.html`);
    await page.waitForFunction(() => /** @type {any} */ (window).loaded);
    await page.evaluate(async () => {
      const w = /** @type {any} */ (window);
      await w.open('last-save', 'indexeddb');
      await w.reg.access('', w.machine(1), 'http://x/', 'x');
      await w.reg.save();
    });
    await page.reload();
    await page.waitForFunction(() => /** @type {any} */ (window).loaded);
    const st = await page.evaluate(async () => {
      const w = /** @type {any} */ (window);
      await w.open('last-save', 'indexeddb');
      return { status: await w.reg.status(), last: (await w.reg.stats()).storage.last_save };
    });
    assert.ok(st.last > 0, 'stats().storage.last_save');
    assert.ok(st.status.lastSave?.at > 0, `status().lastSave ${JSON.stringify(st.status.lastSave)}`);
  } finally {
    await browser.close();
    await server.close();
  }
});
