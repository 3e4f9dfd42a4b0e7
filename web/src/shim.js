// WASI preview1 for registry.wasm from @bjorn3/browser_wasi_shim over a FlatDirectory, with a
// poll_oneoff that never busy-waits: the reactor only sleeps when it is idle, so every clock
// subscription is answered at once as elapsed and fd subscriptions as ready. (The shim's own
// spins until the deadline, reads one subscription only, and answers others with ENOTSUP, on
// which Go's runtime throws "poll_oneoff failed".)
import { ConsoleStdout, OpenFile, File, WASI, wasi } from '@bjorn3/browser_wasi_shim';

/** @typedef {import('./engine.js').WasiSet} WasiSet */
/** @typedef {import('./deterministic.js').Deterministic} Deterministic */

const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;
const PAGE = 65536;

/** @type {number | undefined} */
let memoryLimit;

/**
 * The most bytes this engine lets a WebAssembly memory grow to: the upper bound it accepts
 * for a memory's `maximum` (V8: 4 GiB on 64-bit systems). The module declares no maximum, so
 * this is its limit, given to it as REGWASM_MEMORY_LIMIT (wasm/ABI.md rule 8): its memory
 * budget derives from it. Probed once.
 * @returns {number}
 */
export function engineMemoryLimit() {
  if (memoryLimit === undefined) {
    memoryLimit = 16384 * PAGE;
    for (const pages of [65536, 32768]) {
      try {
        new WebAssembly.Memory({ initial: 0, maximum: pages });
        memoryLimit = pages * PAGE;
        break;
      } catch {
        // above this engine's bound: try a lower one
      }
    }
  }
  return memoryLimit;
}

/**
 * A WASI context whose first preopen is `root` ("/"), for one instance, telling the module
 * its memory limit (engineMemoryLimit).
 *
 * With `deterministic` (tests: see deterministic.js), the realtime clock reads its time and,
 * once `_initialize` has returned, random_get reads its stream. The Go runtime inside the
 * module seeds itself from random_get while `_initialize` runs; that keeps the shim's
 * crypto source, so the stream serves exactly the bytes the registry asks for (10 per GUID),
 * the same bytes the native registry and the Go host take from the same stream. The
 * monotonic clock stays real.
 * @param {import('@bjorn3/browser_wasi_shim').Fd} root
 * @param {{onImport?: (name: string) => void, deterministic?: Deterministic}} [hooks]
 *   onImport: test hook, called before every import
 * @returns {WasiSet}
 */
export function shimWasi(root, hooks) {
  /** @type {string[]} */
  const stderr = [];
  const keep = (/** @type {string} */ line) => {
    stderr.push(line);
    if (stderr.length > 40) stderr.shift();
  };
  const fds = [
    new OpenFile(new File(new Uint8Array(0))),
    ConsoleStdout.lineBuffered(keep),
    ConsoleStdout.lineBuffered(keep),
    root,
  ];
  const shim = new WASI([], [`REGWASM_MEMORY_LIMIT=${engineMemoryLimit()}`], fds, { debug: false });
  /** @type {Record<string, Function>} */
  const imports = { ...shim.wasiImport };
  imports.poll_oneoff = (/** @type {number} */ inPtr, /** @type {number} */ outPtr, /** @type {number} */ n, /** @type {number} */ neventsPtr) => {
    if (n === 0) return wasi.ERRNO_INVAL;
    const view = new DataView(/** @type {any} */ (shim.inst.exports.memory).buffer);
    for (let i = 0; i < n; i++) {
      const sub = inPtr + i * SUBSCRIPTION_SIZE;
      const ev = outPtr + i * EVENT_SIZE;
      const type = view.getUint8(sub + 8);
      view.setBigUint64(ev, view.getBigUint64(sub, true), true); // userdata
      view.setUint16(ev + 8, wasi.ERRNO_SUCCESS, true);
      view.setUint8(ev + 10, type);
      view.setBigUint64(ev + 16, 0n, true); // fd_readwrite.nbytes
      view.setUint16(ev + 24, 0, true); // fd_readwrite.flags
    }
    view.setUint32(neventsPtr, n, true);
    return wasi.ERRNO_SUCCESS;
  };
  let initialized = false;
  const det = hooks?.deterministic;
  if (det) {
    const memory = () => /** @type {WebAssembly.Memory} */ (shim.inst.exports.memory);
    const shimRandom = imports.random_get;
    imports.random_get = (/** @type {number} */ buf, /** @type {number} */ len) => {
      if (!initialized) return shimRandom(buf, len);
      det.random.fill(new Uint8Array(memory().buffer, buf, len));
      return wasi.ERRNO_SUCCESS;
    };
    const shimClock = imports.clock_time_get;
    imports.clock_time_get = (/** @type {number} */ id, /** @type {bigint} */ precision, /** @type {number} */ out) => {
      if (id !== wasi.CLOCKID_REALTIME) return shimClock(id, precision, out);
      new DataView(memory().buffer).setBigUint64(out, det.nowNs, true);
      return wasi.ERRNO_SUCCESS;
    };
  }
  if (hooks?.onImport) {
    const hook = hooks.onImport;
    for (const [name, fn] of Object.entries(imports)) {
      imports[name] = (/** @type {any[]} */ ...args) => {
        hook(name);
        return fn(...args);
      };
    }
  }
  return {
    imports: { wasi_snapshot_preview1: imports },
    initialize: (instance) => {
      shim.initialize(/** @type {any} */ (instance));
      initialized = true;
    },
    stderr: () => stderr.join('\n'),
  };
}
