// The package's types (dist/index.d.ts) as consumers check them: `tsc --noEmit --strict`,
// without skipLibCheck, for `nodenext` and `bundler` resolution, with and without the DOM lib,
// with and without @types/node, on consumer files that use every part of the API (and
// `@ts-expect-error` lines that must stay errors). The package is laid out as npm installs it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { DIST, ROOT } from './helpers.mjs';

const run = promisify(execFile);
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const FIXTURES = join(ROOT, 'tests', 'web', 'fixtures', 'types');
/** @type {string} */
let proj;

before(async () => {
  proj = await mkdtemp(join(tmpdir(), 'regwasm-types-'));
  const pkg = join(proj, 'node_modules', 'regwasm');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  for (const f of readdirSync(DIST)) if (/\.(js|d\.ts)$/.test(f)) copyFileSync(join(DIST, f), join(pkg, 'dist', f));
  for (const dep of ['@types/node', 'undici-types']) cpSync(join(ROOT, 'node_modules', dep), join(proj, 'node_modules', dep), { recursive: true });
  for (const f of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, f), join(proj, f));
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
});
after(() => rm(proj, { recursive: true, force: true }));

/**
 * @typedef {{resolution: 'nodenext' | 'bundler', lib: string[], node: boolean, files: string[]}} Mode
 * @type {Mode[]}
 */
const MODES = [];
for (const resolution of /** @type {const} */ (['nodenext', 'bundler'])) {
  for (const dom of [false, true]) {
    for (const node of [false, true]) {
      const files = ['consumer.ts'];
      if (resolution === 'nodenext') files.push('consumer.cts');
      if (dom) files.push('browser.ts');
      MODES.push({ resolution, lib: dom ? ['es2022', 'dom'] : ['es2022'], node, files });
    }
  }
  MODES.push({ resolution, lib: ['esnext'], node: false, files: ['consumer.ts', 'dispose.ts'] });
}

for (const mode of MODES) {
  const name = `${mode.resolution}, lib ${mode.lib.join('+')}, ${mode.node ? 'with' : 'without'} @types/node: ${mode.files.join(' ')}`;
  test(`tsc --strict: ${name}`, async () => {
    const config = `tsconfig.${MODES.indexOf(mode)}.json`;
    writeFileSync(
      join(proj, config),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          target: 'es2022',
          module: mode.resolution === 'nodenext' ? 'nodenext' : 'esnext',
          moduleResolution: mode.resolution,
          lib: mode.lib,
          types: mode.node ? ['node'] : [],
        },
        files: mode.files,
      }),
    );
    const out = await run(process.execPath, [TSC, '-p', config], { cwd: proj }).then(
      () => '',
      (/** @type {any} */ e) => `${e.stdout}${e.stderr}`,
    );
    assert.equal(out, '', `tsc found errors:\n${out}`);
  });
}

test("the JS sources' JSDoc types check (tsc -p web: checkJs, strict)", async () => {
  const out = await run(process.execPath, [TSC, '-p', join(ROOT, 'web')], { cwd: ROOT }).then(
    () => '',
    (/** @type {any} */ e) => `${e.stdout}${e.stderr}`,
  );
  assert.equal(out, '', `tsc found errors:\n${out}`);
});
