// The published package: `npm pack`, installed offline into a fresh project, used from Node
// and from a page bundled by esbuild, in Chromium. Also checks that the d.ts declares what the
// bundles export.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import { launch, ROOT, serve } from './helpers.mjs';

const run = promisify(execFile);
/** @type {string} */
let tmp;
/** @type {string} */
let proj;
/** @type {string[]} */
let packed;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'regwasm-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tmp, '--loglevel=error'], { cwd: ROOT });
  const [info] = JSON.parse(stdout);
  packed = info.files.map((/** @type {{path: string}} */ f) => f.path);
  proj = join(tmp, 'consumer');
  mkdirSync(proj);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // The package has no runtime dependencies (browser_wasi_shim is bundled): offline works.
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', join(tmp, info.filename)], { cwd: proj });
});
after(() => rm(tmp, { recursive: true, force: true }));

/** Names the d.ts declares as runtime values. */
function declared() {
  const dts = readFileSync(join(ROOT, 'dist', 'index.d.ts'), 'utf8');
  return [...dts.matchAll(/^export declare (?:function|class) (\w+)/gm)].map((m) => m[1]).sort();
}

test('the tarball holds the built package only', () => {
  for (const f of ['package.json', 'dist/browser.js', 'dist/worker.js', 'dist/node.js', 'dist/index.d.ts', 'dist/registry.wasm']) {
    assert.ok(packed.includes(f), `${f} is packed`);
  }
  assert.deepEqual(packed.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && !/^(README|LICENSE)/i.test(f)), []);
  const pkg = JSON.parse(readFileSync(join(proj, 'node_modules', 'regwasm', 'package.json'), 'utf8'));
  assert.equal(pkg.dependencies, undefined, 'no runtime dependencies');
});

test('installed package from Node: directory storage survives a reopen', async () => {
  writeFileSync(
    join(proj, 'use.mjs'),
    `import { openRegistry } from 'regwasm';
const reg = await openRegistry({ storage: './data' });
const a = await reg.access('', '00000000-0000-4000-8000-000000000001', 'http://node.example/', 'node');
await reg.save();
await reg.close();
const again = await openRegistry({ storage: './data' });
const b = await again.access(a.person, '00000000-0000-4000-8000-000000000001', 'http://node.example/', 'node');
const mem = await openRegistry({ name: 'm', storage: 'memory' });
console.log(JSON.stringify({ a: a.person, b: b.person, usages: b.urls[0][3], exports: Object.keys(await import('regwasm')).sort(), memory: (await mem.stats()).persons }));
await again.close();
await mem.close();
`,
  );
  const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: proj });
  const out = JSON.parse(stdout);
  assert.equal(out.b, out.a);
  assert.equal(out.usages, 2);
  assert.equal(out.memory, 0);
  assert.deepEqual(out.exports, declared(), 'the d.ts declares what the Node bundle exports');
});

test('installed package bundled by esbuild for a page, in Chromium', async () => {
  const www = join(proj, 'www');
  mkdirSync(www);
  writeFileSync(
    join(proj, 'app.js'),
    `import * as regwasm from 'regwasm';
window.result = (async () => {
  const reg = await regwasm.openRegistry({ name: 'packed' });
  const a = await reg.access('', '00000000-0000-4000-8000-000000000002', 'http://page.example/', 'page');
  const saved = await reg.save();
  return { person: a.person, urls: a.urls.length, saved: saved.file, exports: Object.keys(regwasm).sort(), storage: (await reg.status()).storage };
})();
`,
  );
  await esbuild.build({ entryPoints: [join(proj, 'app.js')], bundle: true, format: 'esm', platform: 'browser', outdir: www, logLevel: 'warning' });
  // esbuild does not copy assets referenced by new URL(..., import.meta.url): the page ships
  // the worker and the module next to its bundle.
  for (const f of ['worker.js', 'registry.wasm']) copyFileSync(join(proj, 'node_modules', 'regwasm', 'dist', f), join(www, f));
  writeFileSync(join(www, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="app.js"></script>');
  const server = await serve(www);
  const browser = await launch();
  try {
    const page = await browser.page();
    await page.goto(`${server.url}/`);
    const r = await page.evaluate(() => /** @type {any} */ (window).result);
    assert.match(r.person, /^[0-9a-f-]{36}$/);
    assert.equal(r.urls, 1);
    assert.match(r.saved, /^registry\.db\.[123]$/);
    assert.equal(r.storage, 'indexeddb');
    assert.deepEqual(r.exports, declared(), 'the d.ts declares what the browser bundle exports');
    assert.deepEqual(page.errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
