// The directory lock every host takes on a real directory: this is the Node side, host/lock.go
// the Go side (the CLI and `regwasm serve` included), RATIONALE.md "One lock for every host"
// the protocol. Node has no flock, so the lock is a file only:
//   - DIR/.lock holds its holder's record, one JSON line. It is written whole into
//     DIR/.lock.<token>.tmp and put in place with link(2), which fails when the name exists:
//     no opener ever sees a half-written lock.
//   - A second opener refuses while the holder lives (pid, and on Linux its start time, boot
//     and PID namespace, tell a live holder from a dead one whose pid was reused).
//   - A dead holder's lock is stale: an opener claims it by linking its record as
//     DIR/.lock.takeover.<stale token> (exactly one can), checks that DIR/.lock is still the
//     stale one and renames its record over it. A claimer that died is itself stale: the
//     next opener claims .takeover.<its token>.
//   - The holder removes DIR/.lock when it closes (if the record is still its own).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { RegistryError } from './errors.js';

export const LOCK_NAME = '.lock';
const TMP_SUFFIX = '.tmp';
const CLAIM_INFIX = '.takeover.';
/** Longest wait for another opener's takeover in progress (it takes microseconds when it runs). */
const LOCK_WAIT_MS = 5000;
const TOKEN = /^[0-9A-Za-z_-]{1,64}$/;

/**
 * A lock file's content.
 * @typedef {object} LockRecord
 * @property {number} regwasm_lock format (1)
 * @property {string} token random; names the holder's temporary and claim files
 * @property {number} pid
 * @property {string} [start] Linux: field 22 of /proc/PID/stat
 * @property {string} [boot] Linux: /proc/sys/kernel/random/boot_id
 * @property {string} [pidns] Linux: the /proc/self/ns/pid link
 * @property {string} host
 * @property {string} program
 * @property {string} runtime 'go' or 'node'
 * @property {string} since RFC 3339, UTC
 * @property {boolean} [flock] a Go holder keeps an flock on the file (Node cannot check it)
 */

/**
 * A parsed lock file: a record, an older regwasm's lock (its pid alone), or unreadable bytes.
 * @typedef {{kind: 'record', rec: LockRecord, token: string}
 *   | {kind: 'legacy', pid: number, token: string, mtimeMs: number}
 *   | {kind: 'unreadable', token: string}} Lock
 */

/**
 * Reads a lock (or claim) file; null when it does not exist.
 * @param {string} path
 * @returns {Lock | null}
 */
function readLock(path) {
  let fd;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    if (/** @type {{code?: string}} */ (err).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return parseLock(buf.subarray(0, n), fs.fstatSync(fd).mtimeMs);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * @param {Buffer} bytes
 * @param {number} mtimeMs
 * @returns {Lock}
 */
function parseLock(bytes, mtimeMs) {
  try {
    const rec = JSON.parse(bytes.toString('utf8'));
    if (rec && rec.regwasm_lock >= 1 && typeof rec.token === 'string' && TOKEN.test(rec.token) && Number.isInteger(rec.pid) && rec.pid > 0) {
      return { kind: 'record', rec, token: rec.token };
    }
  } catch {
    // not a record
  }
  // Anything else is named by its bytes, so that racing openers claim the same file for it.
  const token = 'x' + createHash('sha256').update(bytes).digest('hex').slice(0, 32);
  const s = bytes.toString('latin1').trim();
  if (/^[0-9]{1,10}$/.test(s) && Number(s) > 0) return { kind: 'legacy', pid: Number(s), token, mtimeMs };
  return { kind: 'unreadable', token };
}

/**
 * /proc/PID/stat's start time (field 22) and zombie state; null where it cannot be read.
 * @param {number} pid
 */
function procStat(pid) {
  const s = readTextOrNull(`/proc/${pid}/stat`);
  if (s === null) return null;
  const fields = s.slice(s.lastIndexOf(')') + 1).trim().split(/\s+/); // [0] is field 3, state
  if (fields.length < 20) return null;
  return { start: fields[19], zombie: fields[0] === 'Z' || fields[0] === 'X' };
}

/** @param {string} path */
function readTextOrNull(path) {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** @param {number} pid */
function pidExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {{code?: string}} */ (err).code === 'EPERM';
  }
}

/** @type {{pid: number, start: string, boot: string, pidns: string, host: string} | null} */
let selfCache = null;

function self() {
  if (!selfCache) {
    let pidns = '';
    try {
      pidns = fs.readlinkSync('/proc/self/ns/pid');
    } catch {
      // not Linux
    }
    selfCache = {
      pid: process.pid,
      start: procStat(process.pid)?.start ?? '',
      boot: (readTextOrNull('/proc/sys/kernel/random/boot_id') ?? '').trim(),
      pidns,
      host: hostname(),
    };
  }
  return selfCache;
}

/** Boot time (ms since the epoch) from /proc/stat, for an older lock's mtime check. */
function bootTimeMs() {
  const m = /^btime (\d+)$/m.exec(readTextOrNull('/proc/stat') ?? '');
  return m ? Number(m[1]) * 1000 : NaN;
}

/**
 * Whether the holder of a lock (or claim) is gone, and if it cannot be checked from here, why.
 * @param {Lock} lock
 * @returns {{dead: boolean, note: string}}
 */
function holderState(lock) {
  const me = self();
  if (lock.kind === 'unreadable') return { dead: true, note: '' }; // no host's record: a crash before it reached the disk, or a stray file
  if (lock.kind === 'legacy') {
    if (!pidExists(lock.pid)) return { dead: true, note: '' };
    // A process started (100 ticks a second) after the file was written did not write it.
    const st = procStat(lock.pid);
    const started = bootTimeMs() + Number(st?.start) * 10;
    return { dead: Boolean(st?.zombie) || started > lock.mtimeMs + 1000, note: '' };
  }
  const r = lock.rec;
  const unverifiable = (/** @type {string} */ where) =>
    `; it runs ${where} and cannot be checked from here: if it is gone, remove the lock file`;
  if (r.host !== me.host) return { dead: false, note: unverifiable('on another host') };
  if (r.boot && me.boot && r.boot !== me.boot) return { dead: true, note: '' }; // the machine restarted since
  if (r.pidns && me.pidns && r.pidns !== me.pidns) return { dead: false, note: unverifiable('in another PID namespace (a container)') };
  if (!pidExists(r.pid)) return { dead: true, note: '' };
  const st = procStat(r.pid);
  // Killed and not yet reaped, or the pid now belongs to another process.
  if (st && (st.zombie || (r.start && st.start !== r.start))) return { dead: true, note: '' };
  return { dead: false, note: '' };
}

/**
 * Names the holder for a refusal (as host/lock.go does).
 * @param {Lock} lock
 */
function describe(lock) {
  if (lock.kind === 'legacy') return `process ${lock.pid} (a regwasm of an older version)`;
  if (lock.kind === 'unreadable') return 'an unreadable lock';
  const r = lock.rec;
  const me = self();
  let runtime = r.runtime === 'go' ? 'Go host' : r.runtime === 'node' ? 'Node host' : `${r.runtime} host`;
  if (r.pid === me.pid && r.host === me.host && (r.start ?? '') === me.start) runtime += ', this process';
  return `process ${r.pid} (${r.program}, ${runtime}) on host ${r.host} since ${r.since}`;
}

/**
 * @param {string} path
 * @param {Lock} holder
 * @param {string} note
 */
function lockedError(path, holder, note) {
  return new RegistryError(
    'locked',
    `directory is in use by another registry (lock file ${path}: held by ${describe(holder)}${note}): one process owns a registry directory at a time`,
  );
}

/** @param {unknown} err */
const code = (err) => /** @type {{code?: string}} */ (err).code;

/** @param {string} path */
function removeQuietly(path) {
  try {
    fs.unlinkSync(path);
  } catch {
    // gone already
  }
}

/**
 * A held directory lock.
 * @typedef {object} DirectoryLock
 * @property {string} path the lock file
 * @property {() => void} release removes the lock file if it still holds this lock's record
 */

/**
 * Takes the lock of directory `dir` (which must exist; pass its realpath, so that every name
 * of the directory is one lock). Refuses with RegistryError 'locked', naming the holder, while
 * a live registry of any host holds it; takes over a lock whose holder died.
 * @param {string} dir
 * @param {{program?: string}} [options] how the record names this program
 * @returns {Promise<DirectoryLock>}
 */
export async function lockDirectory(dir, { program } = {}) {
  const me = self();
  const path = join(dir, LOCK_NAME);
  const token = randomBytes(16).toString('hex');
  /** @type {LockRecord} */
  const rec = {
    regwasm_lock: 1,
    token,
    pid: me.pid,
    ...(me.start && { start: me.start }),
    ...(me.boot && { boot: me.boot }),
    ...(me.pidns && { pidns: me.pidns }),
    host: me.host,
    program: program ?? `node ${basename(process.argv[1] ?? '')}`.trim(),
    runtime: 'node',
    since: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  const tmp = `${path}.${token}${TMP_SUFFIX}`;
  fs.writeFileSync(tmp, JSON.stringify(rec) + '\n', { flag: 'wx', mode: 0o644 });
  try {
    await acquire(path, tmp, token);
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      const cur = readLock(path);
      if (cur?.token === token) fs.unlinkSync(path);
    },
  };
}

/**
 * Puts the record in `tmp` in place as `path`, taking over a stale lock, or refuses.
 * @param {string} path
 * @param {string} tmp
 * @param {string} token this opener's
 */
async function acquire(path, tmp, token) {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 1; ; ) {
    try {
      fs.linkSync(tmp, path);
      removeQuietly(tmp);
      sweep(path, tmp);
      return;
    } catch (err) {
      if (code(err) !== 'EEXIST') {
        throw new RegistryError('failed', `creating the lock file ${path} (the file system must support hard links): ${/** @type {Error} */ (err).message}`, { cause: err });
      }
    }
    const cur = readLock(path);
    if (cur === null && Date.now() < deadline) continue; // released meanwhile
    if (cur === null) throw new RegistryError('locked', `directory is in use by another registry (lock file ${path} keeps changing)`);
    if (cur.token === token) {
      // A link that succeeded but reported EEXIST (NFS retransmits).
      removeQuietly(tmp);
      sweep(path, tmp);
      return;
    }
    const { dead, note } = holderState(cur);
    if (!dead) throw lockedError(path, cur, note);
    const { won, busy } = takeOver(path, tmp, cur);
    if (won) return;
    if (Date.now() > deadline) throw lockedError(path, busy ?? cur, '; it is taking over the lock of a process that died');
    if (busy) {
      await new Promise((res) => setTimeout(res, wait));
      wait = Math.min(2 * wait, 50);
    }
  }
}

/**
 * Replaces the stale lock with the record in `tmp` if this opener wins the claim on it.
 * `busy` is a live claimer that got there first; with neither the lock changed: start again.
 * @param {string} path
 * @param {string} tmp
 * @param {Lock} stale
 * @returns {{won: boolean, busy?: Lock}}
 */
function takeOver(path, tmp, stale) {
  let on = stale.token;
  for (let hop = 0; hop < 64; hop++) {
    const claim = path + CLAIM_INFIX + on;
    try {
      fs.linkSync(tmp, claim);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw new RegistryError('failed', `claiming a stale lock: ${/** @type {Error} */ (err).message}`, { cause: err });
      const claimer = readLock(claim);
      if (claimer === null) return { won: false }; // the claim went: start again
      if (!holderState(claimer).dead) return { won: false, busy: claimer };
      on = claimer.token; // it died claiming: claim its claim
      continue;
    }
    if (readLock(path)?.token !== stale.token) {
      removeQuietly(claim);
      return { won: false };
    }
    try {
      fs.renameSync(tmp, path);
    } catch (err) {
      removeQuietly(claim);
      throw new RegistryError('failed', `taking over a stale lock: ${/** @type {Error} */ (err).message}`, { cause: err });
    }
    sweep(path, tmp);
    return { won: true };
  }
  throw new RegistryError('failed', `a stale lock ${path} has more than 64 dead claimers`);
}

/**
 * After a successful lock: removes the claim files (all about a lock that is gone) and the
 * temporary files of openers that died.
 * @param {string} path
 * @param {string} tmp
 */
function sweep(path, tmp) {
  const dir = dirname(path);
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const full = join(dir, name);
    if (name.startsWith(LOCK_NAME + CLAIM_INFIX)) {
      removeQuietly(full);
    } else if (name.startsWith(LOCK_NAME + '.') && name.endsWith(TMP_SUFFIX) && full !== tmp) {
      let lock, mtimeMs;
      try {
        lock = readLock(full);
        mtimeMs = fs.statSync(full).mtimeMs;
      } catch {
        continue;
      }
      // An unreadable one may be being written right now, unless it is old.
      if (lock && holderState(lock).dead && (lock.kind === 'record' || Date.now() - mtimeMs > 60_000)) removeQuietly(full);
    }
  }
}
