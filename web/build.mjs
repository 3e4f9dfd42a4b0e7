// Builds dist/: the browser bundle (page side), the module Worker, the Node bundle, the d.ts
// types, registry.wasm, and the dashboard page (index.html + dashboard.js over browser.js).
// Usage: node web/build.mjs [--wasm path/to/registry.wasm]
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const arg = process.argv.indexOf('--wasm');
const wasm = arg > 0 ? resolve(process.argv[arg + 1]) : join(root, 'host', 'registry.wasm');

if (!existsSync(wasm)) {
  console.error(`web/build.mjs: ${wasm} is missing (run ./build.sh first)`);
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: root,
};

// The dashboard imports 'regwasm': in dist/ that is the browser bundle next to it.
/** @type {esbuild.Plugin} */
const selfImport = {
  name: 'regwasm-self',
  setup(build) {
    build.onResolve({ filter: /^regwasm$/ }, () => ({ path: './browser.js', external: true }));
  },
};

await Promise.all([
  esbuild.build({ ...common, platform: 'browser', minify: true, entryPoints: ['web/src/browser.js'], outfile: 'dist/browser.js' }),
  esbuild.build({ ...common, platform: 'browser', minify: true, entryPoints: ['web/src/worker.js'], outfile: 'dist/worker.js' }),
  esbuild.build({ ...common, platform: 'node', entryPoints: ['web/src/node.js'], outfile: 'dist/node.js' }),
  esbuild.build({ ...common, platform: 'node', entryPoints: ['web/src/node-worker.js'], outfile: 'dist/node-worker.js' }),
  esbuild.build({
    ...common,
    platform: 'browser',
    minify: true,
    entryPoints: ['web/dashboard/dashboard.js'],
    outfile: 'dist/dashboard.js',
    plugins: [selfImport],
  }),
]);

copyFileSync(wasm, join(dist, 'registry.wasm'));
copyFileSync(join(root, 'web', 'types', 'index.d.ts'), join(dist, 'index.d.ts'));
copyFileSync(join(root, 'web', 'dashboard', 'index.html'), join(dist, 'index.html'));
copyFileSync(join(root, 'web', 'dashboard', 'dashboard.css'), join(dist, 'dashboard.css'));

// The bundles include @bjorn3/browser_wasi_shim, and registry.wasm the Go runtime and standard
// library: ship their licences (Go's, as the Go distribution has it, in web/licenses/).
const shim = join(root, 'node_modules', '@bjorn3', 'browser_wasi_shim');
const shimVersion = JSON.parse(readFileSync(join(shim, 'package.json'), 'utf8')).version;
const licenses = join(root, 'web', 'licenses');
writeFileSync(
  join(dist, 'THIRD-PARTY-LICENSES.txt'),
  [
    'regwasm bundles the following third-party software.',
    '',
    '== The Go runtime and standard library ==',
    '',
    'dist/registry.wasm is compiled from Go and contains the Go runtime and parts of its',
    'standard library (https://go.dev), licensed under the BSD-style licence below, with the',
    'additional patent grant that follows it.',
    '',
    readFileSync(join(licenses, 'GO-LICENSE'), 'utf8').trimEnd(),
    '',
    readFileSync(join(licenses, 'GO-PATENTS'), 'utf8').trimEnd(),
    '',
    `== @bjorn3/browser_wasi_shim ${shimVersion} ==`,
    '',
    'dist/worker.js, dist/node.js and dist/node-worker.js include @bjorn3/browser_wasi_shim',
    '(https://github.com/bjorn3/browser_wasi_shim), licensed MIT OR Apache-2.0. Its MIT licence:',
    '',
    readFileSync(join(shim, 'LICENSE-MIT'), 'utf8').trimEnd(),
    '',
  ].join('\n'),
);
