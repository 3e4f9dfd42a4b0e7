// The Node host's directory lock (web/src/lock.js, RATIONALE.md "One lock for every host"):
// Node processes against each other, a holder killed with -9, stale locks (a dead holder, a
// reused pid), the takeover race, symlinked directories. host/lock_process_test.go runs the
// same peers against Go processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { openRegistry, RegistryError } from '../../dist/node.js';
import { DIST, ROOT } from './helpers.mjs';

const tmp = await mkdtemp(join(tmpdir(), 'regwasm-lock-'));
after(() => rm(tmp, { recursive: true, force: true }));

let dirs = 0;
const newDir = () => {
  const d = join(tmp, `d${++dirs}`);
  mkdirSync(d);
  return d;
};

/** A lock-peer.mjs process running the bundle (dist/node.js). */
class Peer {
  /** @type {import('node:child_process').ChildProcess} */
  #child;
  /** @type {((line: any) => void)[]} */
  #waiting = [];
  /** @type {any[]} */
  #lines = [];
  pid = 0;

  constructor() {
    this.#child = spawn(process.execPath, [join(ROOT, 'tests', 'web', 'lock-peer.mjs')], {
      env: { ...process.env, REGWASM_NODE_ENTRY: join(DIST, 'node.js') },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: /** @type {import('node:stream').Readable} */ (this.#child.stdout) }).on('line', (line) => {
      const msg = JSON.parse(line);
      const w = this.#waiting.shift();
      if (w) w(msg);
      else this.#lines.push(msg);
    });
  }

  static async start() {
    const p = new Peer();
    const ready = await p.#next();
    assert.equal(ready.r, 'ready');
    p.pid = ready.pid;
    return p;
  }

  /** @returns {Promise<any>} */
  #next() {
    if (this.#lines.length) return Promise.resolve(this.#lines.shift());
    return new Promise((res) => this.#waiting.push(res));
  }

  /** @param {object} cmd */
  do(cmd) {
    this.#child.stdin?.write(JSON.stringify(cmd) + '\n');
    return this.#next();
  }

  kill() {
    this.#child.kill('SIGKILL');
    return new Promise((res) => (this.#child.exitCode !== null || this.#child.signalCode !== null ? res(null) : this.#child.once('exit', res)));
  }
}

/**
 * @param {any} reply
 * @param {number} pid the holder
 */
function assertRefusedBy(reply, pid) {
  assert.equal(reply.r, 'refused', JSON.stringify(reply));
  for (const want of [`process ${pid}`, hostname(), 'since', 'lock-peer.mjs']) {
    assert.ok(reply.message.includes(want), `refusal without ${want}: ${reply.message}`);
  }
}

test('two Node processes: the second is refused naming the first, opens after a release and after a kill -9', async () => {
  const [a, b] = await Promise.all([Peer.start(), Peer.start()]);
  try {
    const dir = newDir();
    assert.equal((await a.do({ cmd: 'open', id: 'a', dir })).r, 'opened');
    assert.equal((await a.do({ cmd: 'access', id: 'a' })).persons, 1);
    assertRefusedBy(await b.do({ cmd: 'open', id: 'b', dir }), a.pid);

    await a.do({ cmd: 'close', id: 'a' });
    assert.equal((await b.do({ cmd: 'open', id: 'b', dir })).r, 'opened');
    assert.equal((await b.do({ cmd: 'access', id: 'b' })).persons, 2);
    assertRefusedBy(await a.do({ cmd: 'open', id: 'a', dir }), b.pid);
    await b.do({ cmd: 'close', id: 'b' });

    // kill -9 of the holder: its lock is stale and the next open takes it over.
    assert.equal((await a.do({ cmd: 'open', id: 'a', dir })).r, 'opened');
    await a.kill();
    assert.equal((await b.do({ cmd: 'open', id: 'b', dir })).r, 'opened');
    assert.equal((await b.do({ cmd: 'access', id: 'b' })).persons, 3);
    await b.do({ cmd: 'close', id: 'b' });
  } finally {
    await Promise.all([a.kill(), b.kill()]);
  }
});

test('a second open in the process is refused naming this process', async () => {
  const dir = newDir();
  const reg = await openRegistry({ storage: dir });
  await assert.rejects(openRegistry({ storage: dir }), (e) => {
    assert.ok(e instanceof RegistryError && e.code === 'locked', String(e));
    assert.match(e.message, new RegExp(`process ${process.pid}\\b.*since`));
    return true;
  });
  await reg.close();
  (await openRegistry({ storage: dir })).close();
});

test('a symlinked directory opens, and is the same directory as its target', async () => {
  const real = newDir();
  const link = join(tmp, 'link');
  symlinkSync(real, link);
  const reg = await openRegistry({ storage: link });
  await reg.access('', '11111111-1111-4111-8111-111111111111', 'http://one/', 'one');
  await assert.rejects(openRegistry({ storage: real }), (e) => e instanceof RegistryError && e.code === 'locked');
  await reg.close();
  const again = await openRegistry({ storage: real });
  assert.equal((await again.stats()).persons, 1);
  await again.close();
  assert.deepEqual(readdirSync(link).sort(), readdirSync(realpathSync(link)).sort());
});

export { readFileSync, writeFileSync };
