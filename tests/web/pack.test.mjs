// The published package, made as a user's `npm pack` would: a clean clone of this checkout
// (its committed state), `npm ci`, `npm pack` (prepack builds dist/), the tarball installed
// offline into a fresh project and used from Node (ESM, CommonJS), TypeScript, and pages
// bundled by esbuild in Chromium (esm; the default iife; a missing worker script).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
let clone;
/** @type {string} */
let proj;
/** @type {string[]} */
let packed;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'regwasm-pack-'));
  clone = join(tmp, 'clone');
  await run('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone]);
  await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: clone });
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tmp, '--loglevel=error'], { cwd: clone });
  const info = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];
  packed = info.files.map((/** @type {{path: string}} */ f) => f.path);
  proj = join(tmp, 'consumer');
  mkdirSync(proj);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // The package has no runtime dependencies (browser_wasi_shim is bundled): offline works.
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', join(tmp, info.filename)], { cwd: proj });
});
after(() => rm(tmp, { recursive: true, force: true }));

const installed = (/** @type {string} */ f) => join(proj, 'node_modules', 'regwasm', f);

/** Names the d.ts declares as runtime values. */
function declared() {
  const dts = readFileSync(installed('dist/index.d.ts'), 'utf8');
  return [...dts.matchAll(/^export declare (?:function|class) (\w+)/gm)].map((m) => m[1]).sort();
}

test('npm pack from a clean clone: the built package, its README for npm users, licences, metadata', () => {
  for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/browser.js', 'dist/worker.js', 'dist/node.js', 'dist/node-worker.js', 'dist/index.d.ts', 'dist/registry.wasm', 'dist/THIRD-PARTY-LICENSES.txt']) {
    assert.ok(packed.includes(f), `${f} is packed (packed: ${packed.join(', ')})`);
  }
  assert.deepEqual(packed.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f)), []);
  const readme = readFileSync(installed('README.md'), 'utf8');
  assert.equal(readme, readFileSync(join(clone, 'web', 'README.md'), 'utf8'), "the tarball's README is web/README.md");
  for (const part of ['npm install regwasm', '## In the browser', '## In Node', '## Bundlers', 'esbuild', '## Errors', '## Storage layout', '## Limits', 'openRegistry']) {
    assert.ok(readme.includes(part), `the README covers ${part}`);
  }
  assert.equal(execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' }), '', 'packing left the clone as it was (its README put back)');
  const licences = readFileSync(installed('dist/THIRD-PARTY-LICENSES.txt'), 'utf8');
  const goLicense = readFileSync(join(ROOT, 'web', 'licenses', 'GO-LICENSE'), 'utf8').trim();
  assert.ok(licences.includes(goLicense), "Go's BSD licence is shipped");
  assert.match(goLicense, /^Copyright \d+ The Go Authors\./);
  assert.match(licences, /browser_wasi_shim/);
  try {
    const goroot = execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim();
    assert.equal(readFileSync(join(goroot, 'LICENSE'), 'utf8').trim(), goLicense, "web/licenses/GO-LICENSE is the Go distribution's");
  } catch (err) {
    if (/** @type {any} */ (err)?.code !== 'ENOENT') throw err; // no Go here: nothing to compare
  }
  const pkg = JSON.parse(readFileSync(installed('package.json'), 'utf8'));
  assert.equal(pkg.dependencies, undefined, 'no runtime dependencies');
  assert.match(pkg.repository?.url ?? '', /github\.com\/regwasm\/regwasm/);
  assert.ok(pkg.homepage, 'homepage');
  assert.ok(pkg.keywords?.includes('netdata'), 'keywords');
  assert.match(pkg.engines.node, /20\.19/, 'engines says where require() works');
});

test('installed package from Node: ESM, directory storage survives a reopen', async () => {
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
console.log(JSON.stringify({ a: a.person, b: b.person, usages: b.urls[0][3], exports: Object.keys(await import('regwasm')).sort(), memory: (await mem.stats()).persons, engine: (await mem.status()).engine }));
await again.close();
await mem.close();
`,
  );
  const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: proj });
  const out = JSON.parse(stdout);
  assert.equal(out.b, out.a);
  assert.equal(out.usages, 2);
  assert.equal(out.memory, 0);
  assert.equal(out.engine, 'worker');
  assert.deepEqual(out.exports, declared(), 'the d.ts declares what the Node bundle exports');
});

test('installed package from Node: CommonJS require()', async () => {
  writeFileSync(
    join(proj, 'use.cjs'),
    `const { openRegistry, RegistryError } = require('regwasm');
(async () => {
  const reg = await openRegistry({ storage: 'memory' });
  const r = await reg.access('', '00000000-0000-4000-8000-000000000003', 'http://cjs.example/', 'cjs');
  const bad = await reg.access(42).catch((e) => e instanceof RegistryError && e.code);
  await reg.close();
  console.log(JSON.stringify({ status: r.status, bad }));
})();
`,
  );
  const { stdout } = await run(process.execPath, ['use.cjs'], { cwd: proj });
  assert.deepEqual(JSON.parse(stdout), { status: 200, bad: 'invalid' });
});

test('installed package from TypeScript (strict, nodenext, no DOM lib)', async () => {
  writeFileSync(
    join(proj, 'use.ts'),
    `import { openRegistry, type AccessResult } from 'regwasm';
const reg = await openRegistry({ storage: 'memory' });
const r: AccessResult = await reg.access({ machine: '00000000-0000-4000-8000-000000000004', url: 'http://ts.example/', name: 'ts' });
const lastMs: number | undefined = r.urls?.[0]?.[2];
void lastMs;
await reg.close();
`,
  );
  writeFileSync(
    join(proj, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022'], types: [] }, files: ['use.ts'] }),
  );
  const out = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: proj }).then(
    () => '',
    (/** @type {any} */ e) => `${e.stdout}${e.stderr}`,
  );
  assert.equal(out, '');
});

/**
 * Bundles `source` with esbuild into a new directory of the consumer project and opens it in
 * Chromium; answers what the page's window.result resolved or rejected to.
 * @param {string} name
 * @param {string} source
 * @param {{format?: 'esm' | 'iife', copy?: boolean}} options
 */
async function inChromium(name, source, { format = 'esm', copy = true }) {
  const www = join(proj, name);
  mkdirSync(www);
  writeFileSync(join(proj, `${name}.js`), source);
  await esbuild.build({ entryPoints: [join(proj, `${name}.js`)], bundle: true, format, platform: 'browser', outfile: join(www, 'app.js'), logLevel: 'silent' });
  if (copy) for (const f of ['worker.js', 'registry.wasm']) copyFileSync(installed(`dist/${f}`), join(www, f));
  const module = format === 'esm' ? ' type="module"' : '';
  writeFileSync(join(www, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script${module} src="app.js"></script>`);
  const server = await serve(www);
  const browser = await launch();
  try {
    const page = await browser.page();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => /** @type {any} */ (window).result !== undefined);
    const r = await page.evaluate(() =>
      /** @type {any} */ (window).result.then(
        (/** @type {any} */ value) => ({ value }),
        (/** @type {any} */ e) => ({ error: { name: e.name, code: e.code, message: e.message } }),
      ),
    );
    return { ...r, url: server.url, errors: page.errors };
  } finally {
    await browser.close();
    await server.close();
  }
}

test('installed package bundled by esbuild (esm) for a page, in Chromium', async () => {
  const r = await inChromium(
    'www-esm',
    `import * as regwasm from 'regwasm';
window.result = (async () => {
  const reg = await regwasm.openRegistry({ name: 'packed' });
  const a = await reg.access('', '00000000-0000-4000-8000-000000000002', 'http://page.example/', 'page');
  const saved = await reg.save();
  return { person: a.person, urls: a.urls.length, saved: saved.file, exports: Object.keys(regwasm).sort(), storage: (await reg.status()).storage };
})();
`,
    {},
  );
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.match(r.value.person, /^[0-9a-f-]{36}$/);
  assert.equal(r.value.urls, 1);
  assert.match(r.value.saved, /^registry\.db\.[123]$/);
  assert.equal(r.value.storage, 'indexeddb');
  assert.deepEqual(r.value.exports, declared(), 'the d.ts declares what the browser bundle exports');
  assert.deepEqual(r.errors, []);
});

test("esbuild's default format (iife): a message that says what to do; with the worker and wasm options it works", async () => {
  const app = (/** @type {string} */ options) => `import { openRegistry } from 'regwasm';
window.result = openRegistry(${options}).then(async (reg) => (await reg.hello()).status);
`;
  const bare = await inChromium('www-iife', app('{}'), { format: 'iife' });
  assert.equal(bare.error?.code, 'failed');
  assert.match(bare.error?.message, /import\.meta\.url/);
  assert.match(bare.error?.message, /--format=esm/);
  assert.match(bare.error?.message, /worker and wasm options/);
  const given = await inChromium('www-iife-options', app("{ worker: './worker.js', wasm: './registry.wasm' }"), { format: 'iife' });
  assert.equal(given.error, undefined, JSON.stringify(given.error));
  assert.equal(given.value, 200);
});

test('a missing worker script: the message names its URL and what fetching it answered', async () => {
  const r = await inChromium('www-noworker', `import { openRegistry } from 'regwasm';\nwindow.result = openRegistry();\n`, { copy: false });
  assert.equal(r.error?.code, 'failed');
  assert.ok(r.error?.message.includes(`${r.url}/worker.js`), r.error?.message);
  assert.match(r.error?.message, /HTTP 404/);
  assert.ok(existsSync(installed('dist/worker.js')));
});
