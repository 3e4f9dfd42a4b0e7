// The Node host's storage errors: what the module reports when the disk is full (a real,
// small tmpfs filled by another writer, where the kernel allows mounting one) and for each OS
// error the directory mount maps (injected at node:fs): the message names the file and says
// the OS error ("No space left on device", not "I/O error").
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openRegistry } from '../../dist/node.js';

const tmp = await mkdtemp(join(tmpdir(), 'regwasm-storage-'));
after(() => rm(tmp, { recursive: true, force: true }));

/** @param {number} i */
const machine = (i) => `${i.toString(16).padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'diskfull.mjs');
const MOUNT = 'mount -t tmpfs -o size=262144 regwasm-smallfs "$1" || exit 97; shift; exec "$@"';

test('a full disk (a real tmpfs filled by another writer): "no space left on device" and the file', (t) => {
  const attempts = [['unshare', '-Urm', 'sh', '-c', MOUNT]];
  if (process.getuid?.() === 0) attempts.push(['unshare', '-m', 'sh', '-c', MOUNT]);
  const reasons = [];
  for (const [cmd, ...args] of attempts) {
    const dir = fs.mkdtempSync(join(tmp, 'fs-'));
    const r = spawnSync(cmd, [...args, 'sh', dir, process.execPath, CHILD, dir], { encoding: 'utf8', timeout: 120_000 });
    if (r.error || r.status === 97) {
      reasons.push(`${cmd} ${args[0]}: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}`);
      continue;
    }
    assert.equal(r.status, 0, `child failed:\n${r.stdout}${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
    t.diagnostic(`${cmd} ${args[0]}: ${JSON.stringify(out)}`);
    assert.equal(out.code, 'storage', `no storage error on a full disk: ${JSON.stringify(out)}`);
    assert.match(out.message, /no space left on device/i);
    assert.match(out.message, /registry\.log/);
    assert.equal(out.after, 'ok', 'the registry works again once the space is freed');
    return;
  }
  t.skip(`no small file system can be mounted here (${reasons.join('; ')}); the injected errors below cover the mapping`);
});

// Each OS error the directory mount maps, injected into node:fs's writes to the change log.
const CASES = [
  ['ENOSPC', /No space left on device/i],
  ['EDQUOT', /Quota exceeded/i],
  ['EROFS', /Read-only file system/i],
  ['EACCES', /Permission denied/i],
  ['EPERM', /Operation not permitted/i],
  ['EIO', /I\/O error/i],
];

test('each OS error on a write is told by name, with the file', async (t) => {
  const real = { openSync: fs.default.openSync, writeSync: fs.default.writeSync };
  /** @type {Set<number>} descriptors open on a log segment */
  const logFds = new Set();
  /** @type {string | null} */
  let inject = null;
  /** @type {any} */
  const patched = fs.default;
  patched.openSync = (/** @type {any[]} */ ...args) => {
    const fd = real.openSync(args[0], ...args.slice(1));
    if (/^registry\.log\.[123]$/.test(basename(String(args[0])))) logFds.add(fd);
    return fd;
  };
  patched.writeSync = (/** @type {any[]} */ ...args) => {
    if (inject && logFds.has(args[0])) {
      throw Object.assign(new Error(`${inject}: injected`), { code: inject });
    }
    return real.writeSync(args[0], ...args.slice(1));
  };
  syncBuiltinESMExports();
  try {
    for (const [code, text] of CASES) {
      // A clock that stands still: the registry retries writes after a pause, and the test
      // must see them stopped first.
      // The injection patches this thread's node:fs: the inline engine runs the module here
      // (the default worker thread has a node:fs of its own; the mapping is the same code).
      const reg = await openRegistry({ storage: join(tmp, `inject-${code}`), engine: 'inline', deterministic: { seed: 1, now: 1_800_000_000 } });
      await reg.access('', machine(1), 'http://one.example/', 'one');
      inject = String(code);
      const err = await reg.access('', machine(2), 'http://one.example/', 'one').then(
        () => null,
        (e) => e,
      );
      inject = null;
      t.diagnostic(`${code}: ${err?.message}`);
      assert.equal(err?.code, 'storage', `${code}: ${err}`);
      assert.match(err.message, text, code);
      assert.match(err.message, /registry\.log/, code);
      // Writes stopped: changes are refused until a save resumes them.
      const refused = await reg.access('', machine(3), 'http://one.example/', 'one');
      assert.equal(refused.status, 503, `${code}: a change while writes are stopped`);
      await reg.save();
      const again = await reg.access('', machine(3), 'http://one.example/', 'one');
      assert.equal(again.status, 200, `${code}: a change after the save that resumed writes`);
      await reg.close();
    }
  } finally {
    Object.assign(patched, real);
    syncBuiltinESMExports();
  }
});
