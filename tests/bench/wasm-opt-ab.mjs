// wasm-opt A/B: binaryen's wasm-opt (node_modules/binaryen, pinned in package.json) over the
// Go-built host/registry.wasm, then test1 through wazero and in Node with each module, the
// runs alternated (base, opt, base, opt), and a JSON of the figures for `regwasm bench report
// --wasm-opt`. The passes are -O2 with the features Go's output uses; -O3/-O4 inline across
// Go's br_table dispatch and make the module larger.
//
//   node tests/bench/wasm-opt-ab.mjs [--persons N] [--runs R] [--json FILE]
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = resolve(import.meta.dirname, '..', '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const persons = Number(arg('--persons', '100000'));
const runs = Number(arg('--runs', '2'));
const out = arg('--json', join(root, 'tests', 'out', 'wasm-opt.json'));
const flags = ['-O2', '--enable-bulk-memory', '--enable-sign-ext', '--enable-nontrapping-float-to-int', '--enable-mutable-globals'];
const wasmOpt = join(root, 'node_modules', '.bin', 'wasm-opt');
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26, ...opts }).toString();

const tmp = mkdtempSync(join(tmpdir(), 'regwasm-wasm-opt-'));
try {
  const base = join(root, 'host', 'registry.wasm');
  const opt = join(tmp, 'opt.wasm');
  const t0 = performance.now();
  run(wasmOpt, [...flags, base, '-o', opt]);
  const optSeconds = (performance.now() - t0) / 1e3;
  run(wasmOpt, [...flags, base, '-o', join(tmp, 'again.wasm')]);
  const reproducible = Buffer.compare(readFileSync(opt), readFileSync(join(tmp, 'again.wasm'))) === 0;

  // A regwasm embedding the optimized module: the working tree's sources, copied.
  const src = join(tmp, 'src');
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard']).split('\0').filter(Boolean);
  for (const f of files) cpSync(join(root, f), join(src, f), { recursive: true });
  cpSync(opt, join(src, 'host', 'registry.wasm'));
  const bin = { base: join(tmp, 'regwasm-base'), opt: join(tmp, 'regwasm-opt') };
  run('go', ['build', '-o', bin.base, './host/cmd/regwasm']);
  run('go', ['build', '-o', bin.opt, './host/cmd/regwasm'], { cwd: src });

  const rate = (file) => {
    const rep = JSON.parse(readFileSync(file, 'utf8'));
    const h = rep.hosts[0];
    const n = h.phases.reduce((a, p) => a + p.requests, 0);
    const s = h.phases.reduce((a, p) => a + p.seconds, 0);
    return Math.round(n / s);
  };
  const scale = ['--persons', String(persons), '--machines', String(Math.max(1, Math.floor(persons / 5)))];
  const result = { tool: run(wasmOpt, ['--version']).trim(), flags, reproducible, opt_seconds: optSeconds,
    persons, bytes: {}, gzip: {}, wazero: { base: [], opt: [] }, node: { base: [], opt: [] }, load_average: [] };
  for (const [k, f] of Object.entries({ base, opt })) {
    result.bytes[k] = statSync(f).size;
    result.gzip[k] = gzipSync(readFileSync(f), { level: 9 }).length;
  }
  for (let i = 0; i < runs; i++) {
    for (const k of ['base', 'opt']) {
      const j = join(tmp, `wazero-${k}.json`);
      run(bin[k], ['bench', '--host', 'wazero', ...scale, '--json', j]);
      result.wazero[k].push(rate(j));
      run('node', ['web/build.mjs', '--wasm', k === 'base' ? base : opt]);
      const n = join(tmp, `node-${k}.json`);
      run('node', ['tests/web/bench.mjs', '--hosts', 'node', ...scale, '--json', n]);
      result.node[k].push(rate(n));
      result.load_average.push(loadavg()[0]);
    }
  }
  run('node', ['web/build.mjs']); // dist/ with the module that ships again
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wasm-opt ${result.tool}: ${result.bytes.base} -> ${result.bytes.opt} bytes; wazero ${result.wazero.base} vs ${result.wazero.opt} req/s; node ${result.node.base} vs ${result.node.opt} req/s`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
