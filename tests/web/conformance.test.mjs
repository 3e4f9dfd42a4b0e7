// The cross-host conformance suite on the JS hosts: every vector of tests/conformance/vectors
// (and the random differential vector the Go tests leave in tests/out/conformance) runs on
// Node (directory and memory storage) and in Chromium (the registry Worker over IndexedDB and
// over memory), with the deterministic option, and must answer exactly what the vectors
// (generated natively) say: every response byte, every snapshot byte, every exported file.
// The committed snapshots are loaded by every host (vector crossload), so what one host
// writes, all read. openRegistry's deterministic option is checked on the API path too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRegistry, RegistryError } from '../../dist/node.js';
import { check, compile, vectorFiles } from '../conformance/vectors.mjs';
import { execute, pack, unpack } from '../conformance/exec.mjs';
import { toResult } from '../../web/src/codec.js';
import { deterministic, SplitMix64 } from '../../web/src/deterministic.js';
import { Engine } from '../../web/src/engine.js';
import { FsPreopen } from '../../web/src/fsdir.js';
import { FlatDirectory, preopenRoot, TrackedFile } from '../../web/src/memfs.js';
import { shimWasi } from '../../web/src/shim.js';
import { compileWasm } from '../../web/src/wasm-node.js';
import { launch, ROOT, serve, WASM } from './helpers.mjs';

const SUITE = join(ROOT, 'tests', 'conformance');
const RANDOM_OUT = join(ROOT, 'tests', 'out', 'conformance');
const tmp = await mkdtemp(join(tmpdir(), 'regwasm-conformance-'));
after(() => rm(tmp, { recursive: true, force: true }));

/**
 * The random vectors to run: the Go tests write random-SEED.json; when it is missing or older
 * than the module (the Go tests did not run since the last build) it is generated here, so
 * that this suite never passes without it.
 */
function randomVectors() {
  const built = statSync(join(ROOT, 'host', 'registry.wasm')).mtimeMs;
  const seed = process.env.REGWASM_SEED ?? '1';
  const want = join(RANDOM_OUT, `random-${seed}.json`);
  if (!existsSync(want) || statSync(want).mtimeMs < built) {
    const actions = process.env.REGWASM_FULL === '1' ? '50000' : '3000';
    const r = spawnSync('go', ['run', './tests/conformance/gen', '-random', seed, '-actions', actions, '-out', 'tests/out/conformance'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`go run ./tests/conformance/gen -random ${seed} failed (${r.error ?? `exit ${r.status}`})`);
  }
  const files = vectorFiles(RANDOM_OUT, /^random-\d+\.json$/).filter((f) => statSync(f).mtimeMs >= built);
  assert.ok(files.includes(want), `${want} is missing`);
  return files;
}

const files = [...vectorFiles(join(SUITE, 'vectors')), ...randomVectors()];
const vectors = files.map(compile);
const module = await compileWasm(WASM);

/**
 * A Node host as node.js builds it (Engine over browser_wasi_shim), on a directory or on
 * memory, each fresh start on new storage.
 * @param {'dir' | 'memory'} kind
 * @returns {import('../conformance/exec.mjs').Host}
 */
function nodeHost(kind) {
  /** @type {Engine | null} */
  let engine = null;
  let dir = '';
  /** @type {FlatDirectory | null} */
  let mem = null;
  let starts = 0;
  const live = () => /** @type {Engine} */ (engine);
  const path = (/** @type {string} */ f) => join(dir, f);
  return {
    async open(seed, now, fresh) {
      engine?.close();
      if (fresh || (!dir && !mem)) {
        starts++;
        if (kind === 'dir') mkdirSync((dir = join(tmp, `${process.hrtime.bigint()}-${starts}`)));
        else mem = new FlatDirectory(new Map(), null);
      }
      const det = deterministic({ seed: BigInt(seed), now });
      const root = () => (kind === 'dir' ? new FsPreopen(dir) : preopenRoot(/** @type {FlatDirectory} */ (mem)));
      engine = await Engine.create({ module, makeWasi: () => shimWasi(root(), { deterministic: det }) });
      return engine.loaded;
    },
    request: async (bytes) => live().request(bytes),
    save: async () => live().save(),
    load: async () => live().load(),
    async put(file, bytes) {
      if (kind === 'dir') writeFileSync(path(file), bytes);
      else mem?.contents.set(file, new TrackedFile(bytes));
    },
    async get(file) {
      if (kind === 'memory') return mem?.snapshot().get(file)?.slice() ?? null;
      return existsSync(path(file)) ? new Uint8Array(readFileSync(path(file))) : null;
    },
    async close() {
      engine?.close();
      engine = null;
    },
  };
}

test('the random stream matches the known answers of stream.go', () => {
  const answers = JSON.parse(readFileSync(join(SUITE, 'stream.json'), 'utf8'));
  assert.ok(answers.seeds.length >= 5);
  for (const { seed, bytes } of answers.seeds) {
    const s = new SplitMix64(BigInt(seed));
    const out = new Uint8Array(bytes.length / 2);
    for (let at = 0, n = 1; at < out.length; at += n, n++) s.fill(out.subarray(at, at + n)); // read sizes must not matter
    assert.equal(Buffer.from(out).toString('hex'), bytes, `seed ${seed}`);
  }
  assert.equal(new SplitMix64(0).next(), 0xe220a8397b1dcdafn, "SplitMix64's first output for seed 0");
});

test('the deterministic option is checked', async () => {
  for (const bad of [{ seed: -1, now: 1 }, { seed: 1.5, now: 1 }, { seed: 2n ** 64n, now: 1 }, { seed: 'x', now: 1 }, { seed: 1, now: -5 }, { seed: 1 }]) {
    await assert.rejects(openRegistry({ storage: 'memory', deterministic: /** @type {any} */ (bad) }), (e) => e instanceof RegistryError && e.code === 'invalid');
  }
});

for (const kind of /** @type {const} */ (['dir', 'memory'])) {
  describe(`Node host, ${kind} storage`, () => {
    for (const v of vectors) {
      test(v.name, async () => check(v, await execute(nodeHost(kind), v.ops)));
    }
  });
}

/** Vectors whose steps are all single actions with plain fields: they run through the API. */
const apiVectors = vectors.filter((v) =>
  v.steps.every((/** @type {any} */ s) => s.expect && !s.flags && ['person', 'machine', 'url', 'name', 'delete_url', 'for', 'to'].every((f) => s[f] === undefined || typeof s[f] === 'string')),
);

/**
 * The vector's actions as Registry.batch takes them, persons bound as the vector expects.
 * @param {import('../conformance/vectors.mjs').Compiled} v
 */
function apiActions(v) {
  /** @type {Map<string, string>} */
  const vars = new Map();
  const value = (/** @type {string | undefined} */ f) => (f?.startsWith('$') ? vars.get(f.slice(1)) : f);
  return v.steps.map((/** @type {any} */ s) => {
    const action = { action: s.do, when: s.when, quiet: s.quiet, person: value(s.person), machine: value(s.machine), url: value(s.url),
      name: value(s.name), deleteUrl: value(s.delete_url), for: value(s.for), to: value(s.to) };
    if (s.bind) vars.set(s.bind, s.expect.person ?? '');
    return { action, want: toResult({ status: s.expect.status, person: s.expect.person ?? '', body: s.expect.body ?? '' }) };
  });
}

test("openRegistry's deterministic option (Node, memory and directory)", async () => {
  assert.ok(apiVectors.length >= 3, `only ${apiVectors.map((v) => v.name)} run through the API`);
  for (const v of apiVectors) {
    for (const storage of ['memory', join(tmp, `api-${v.name}`)]) {
      const seed = JSON.parse(readFileSync(v.path, 'utf8')).seed;
      const reg = await openRegistry({ storage, wasm: WASM, deterministic: { seed, now: /** @type {any} */ (v.ops[0]).now } });
      for (const [i, { action, want }] of apiActions(v).entries()) {
        const [got] = await reg.batch([/** @type {any} */ (action)]);
        assert.deepEqual(got, want, `${v.name} step ${i + 1} on ${storage}`);
      }
      await reg.close();
    }
  }
});

describe('browser host (Chromium)', () => {
  /** @type {Awaited<ReturnType<typeof serve>>} */
  let server;
  /** @type {Awaited<ReturnType<typeof launch>>} */
  let browser;
  /** @type {import('playwright-core').Page & {errors: string[]}} */
  let page;
  let runs = 0;
  before(async () => {
    server = await serve(ROOT);
    browser = await launch();
    page = await browser.page();
    await page.goto(`${server.url}/tests/web/fixtures/page.html`);
    await page.waitForFunction(() => /** @type {any} */ (window).loaded);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const storage of ['indexeddb', 'memory']) {
    for (const v of vectors) {
      test(`${v.name}, ${storage}`, async () => {
        const out = await page.evaluate(
          async ([ops, st, tag]) => (await import('/tests/conformance/page-host.mjs')).runInPage(ops, st, tag),
          [pack(v.ops), storage, `conformance-${v.name}-${++runs}`],
        );
        check(v, unpack(out));
        assert.deepEqual(page.errors, []);
      });
    }
  }

  test("openRegistry's deterministic option (browser, IndexedDB and memory)", async () => {
    for (const v of apiVectors) {
      for (const storage of ['indexeddb', 'memory']) {
        const seed = JSON.parse(readFileSync(v.path, 'utf8')).seed;
        const calls = apiActions(v);
        const got = await page.evaluate(
          async ([name, st, det, actions]) => {
            const w = /** @type {any} */ (window);
            const reg = await w.regwasm.openRegistry({ name, storage: st, deterministic: { seed: BigInt(det.seed), now: det.now } });
            const out = [];
            for (const a of actions) out.push((await reg.batch([a]))[0]);
            await reg.close();
            return out;
          },
          [`api-${v.name}-${++runs}`, storage, { seed: String(seed), now: /** @type {any} */ (v.ops[0]).now }, calls.map((c) => c.action)],
        );
        calls.forEach((c, i) => assert.deepEqual(got[i], c.want, `${v.name} step ${i + 1} in ${storage}`));
      }
    }
  });
});
