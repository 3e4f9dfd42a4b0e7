// The Node host's directory lock (web/src/lock.js, RATIONALE.md "One lock for every host"):
// Node processes against each other, a holder killed with -9, stale locks (a dead holder, a
// reused pid), the takeover race, symlinked directories. host/lock_process_test.go runs the
// same peers against Go processes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { openRegistry, RegistryError } from '../../dist/node.js';
import { lockDirectory } from '../../web/src/lock.js';
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


const linux = process.platform === 'linux';

/** @param {string} path */
const readOr = (path, fallback = '') => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
};

/**
 * A lock record of process `pid` on this machine, as its holder would write it.
 * @param {number} pid
 * @param {object} [edits]
 */
function recordFor(pid, edits = {}) {
  const stat = readOr(`/proc/${pid}/stat`);
  const rec = {
    regwasm_lock: 1,
    token: `t${pid}x${Math.random().toString(36).slice(2)}`,
    pid,
    ...(stat && { start: stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/)[19] }),
    ...(linux && { boot: readOr('/proc/sys/kernel/random/boot_id').trim(), pidns: readlinkSync('/proc/self/ns/pid') }),
    host: hostname(),
    program: 'stale-test',
    runtime: 'node',
    since: new Date().toISOString(),
    ...edits,
  };
  return JSON.stringify(rec) + '\n';
}

/** A process that has exited (and been reaped). */
async function exitedPid() {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((res) => child.once('exit', res));
  return /** @type {number} */ (child.pid);
}

/**
 * A pid no process can have (above the kernel's pid_max), for an older regwasm's lock (a pid
 * alone: a dead one reused by another process would look alive); elsewhere an exited one's.
 */
async function neverPid() {
  try {
    return Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim()) + 1;
  } catch {
    return exitedPid();
  }
}

/** @param {string} dir */
const lockFiles = (dir) => readdirSync(dir).filter((n) => n.startsWith('.lock'));

test('stale locks are taken over, live ones refused: dead pid, reused pid, dead claimer, unreadable', async (t) => {
  const live = spawn('sleep', ['120']);
  t.after(() => live.kill('SIGKILL'));
  const livePid = /** @type {number} */ (live.pid);
  const dead = await exitedPid();
  const cases = [
    { name: 'dead pid', lock: recordFor(dead) },
    { name: 'pid reused by a live unrelated process', lock: recordFor(livePid, { start: '1' }), linux: true },
    { name: 'pid reused by this process', lock: recordFor(process.pid, { start: '1' }), linux: true },
    { name: 'another boot', lock: recordFor(livePid, { boot: 'other' }), linux: true },
    { name: 'older regwasm, dead', lock: `${await neverPid()}\n` },
    { name: 'unreadable', lock: '\u0000garbage' },
    { name: 'dead claimer', lock: recordFor(dead), claim: recordFor(dead) },
  ];
  for (const c of cases) {
    if (c.linux && !linux) continue;
    const dir = newDir();
    writeFileSync(join(dir, '.lock'), c.lock);
    if (c.claim) writeFileSync(join(dir, `.lock.takeover.${JSON.parse(c.lock).token}`), c.claim);
    const reg = await openRegistry({ storage: dir }).catch((e) => assert.fail(`${c.name}: ${e.message}`));
    const rec = JSON.parse(readFileSync(join(dir, '.lock'), 'utf8'));
    assert.equal(rec.pid, process.pid, c.name);
    assert.deepEqual(lockFiles(dir), ['.lock'], c.name);
    await reg.close();
    assert.deepEqual(lockFiles(dir), [], c.name);
  }

  // A live holder (its real start time) is refused, by name; once killed, taken over.
  const dir = newDir();
  writeFileSync(join(dir, '.lock'), recordFor(livePid));
  await assert.rejects(openRegistry({ storage: dir }), (e) => {
    assert.ok(e instanceof RegistryError && e.code === 'locked', String(e));
    assert.match(e.message, new RegExp(`process ${livePid} \\(stale-test, Node host\\) on host ${hostname()} since `));
    return true;
  });
  live.kill('SIGKILL');
  await new Promise((res) => live.once('exit', res));
  await (await openRegistry({ storage: dir })).close();

  // Another host cannot be checked: refused, with what to do.
  writeFileSync(join(dir, '.lock'), recordFor(dead, { host: 'elsewhere' }));
  await assert.rejects(openRegistry({ storage: dir }), /on host elsewhere.*another host.*remove the lock file/);
});

test('Node processes racing for one stale lock: exactly one wins each round', async () => {
  const peers = await Promise.all([Peer.start(), Peer.start(), Peer.start()]);
  const dead = await exitedPid();
  try {
    for (let round = 0; round < 30; round++) {
      const dir = newDir();
      if (round % 3 !== 0) writeFileSync(join(dir, '.lock'), recordFor(dead));
      const at = Date.now() + 40;
      const replies = await Promise.all(peers.map((p) => p.do({ cmd: 'lock', id: 'r', dir, at })));
      const winners = peers.filter((_, i) => replies[i].r === 'locked');
      assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(replies)}`);
      peers.forEach((p, i) => p !== winners[0] && assertRefusedBy(replies[i], winners[0].pid));
      assert.deepEqual(lockFiles(dir), ['.lock']);
      await winners[0].do({ cmd: 'close', id: 'r' });
    }
  } finally {
    await Promise.all(peers.map((p) => p.kill()));
  }
});

test('concurrent opens in one process: one wins, and lockDirectory refuses naming this process', async () => {
  const dir = newDir();
  writeFileSync(join(dir, '.lock'), recordFor(await exitedPid()));
  const tries = await Promise.allSettled([1, 2, 3, 4].map(() => lockDirectory(dir)));
  const won = tries.filter((r) => r.status === 'fulfilled');
  assert.equal(won.length, 1);
  for (const r of tries) {
    if (r.status === 'rejected') assert.match(r.reason.message, /Node host, this process/);
  }
  /** @type {PromiseFulfilledResult<import('../../web/src/lock.js').DirectoryLock>} */ (won[0]).value.release();
  assert.deepEqual(lockFiles(dir), []);
});
