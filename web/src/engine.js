// One registry.wasm instance driven synchronously, per wasm/ABI.md, with trap recovery.
// Hosts (the Worker, Node) give it a compiled module and a factory of WASI import sets; the
// files live behind the WASI layer and outlive instances, so a dead instance is replaced by a
// new one that calls `load`.
import { CODES, RegistryError } from './errors.js';

/**
 * @typedef {object} WasiSet one WASI context, good for one instance
 * @property {WebAssembly.Imports} imports
 * @property {(instance: WebAssembly.Instance) => void} initialize calls `_initialize`
 * @property {() => string} [stderr] the module's recent stderr output, for trap reports
 * @property {unknown} [owner] an object the imports need kept alive while the instance lives
 */

/**
 * @typedef {object} RegistryExports
 * @property {WebAssembly.Memory} memory
 * @property {() => number} result_slot
 * @property {(size: number) => number} alloc
 * @property {(ptr: number, len: number) => number} request
 * @property {() => number} save
 * @property {() => number} load
 * @property {() => void} [trap]
 */

const decoder = new TextDecoder();

export class Engine {
  /** @type {WebAssembly.Module} */
  #module;
  /** @type {() => WasiSet} */
  #makeWasi;
  /** @type {RegistryExports | null} */
  #exports = null;
  /** @type {WasiSet | null} */
  #wasi = null;
  #slot = 0;
  /** @type {unknown} the JSON of the last successful `load` */
  #loaded = null;
  #traps = 0;
  #closed = false;

  /**
   * @param {WebAssembly.Module} module
   * @param {() => WasiSet} makeWasi
   */
  constructor(module, makeWasi) {
    this.#module = module;
    this.#makeWasi = makeWasi;
  }

  /**
   * Instantiates the module and loads the registry from its files.
   * @param {{module: WebAssembly.Module, makeWasi: () => WasiSet}} options
   */
  static async create({ module, makeWasi }) {
    const engine = new Engine(module, makeWasi);
    engine.#start();
    return engine;
  }

  /** What the last `load` answered (JSON). */
  get loaded() {
    return this.#loaded;
  }

  /** How many times an instance died and was replaced. */
  get traps() {
    return this.#traps;
  }

  #start() {
    const wasi = this.#makeWasi();
    const instance = new WebAssembly.Instance(this.#module, wasi.imports);
    this.#wasi = wasi;
    wasi.initialize(instance);
    const ex = /** @type {RegistryExports} */ (/** @type {unknown} */ (instance.exports));
    this.#slot = ex.result_slot();
    this.#exports = ex;
    this.#loaded = JSON.parse(decoder.decode(this.#result(ex.load())));
  }

  /**
   * Copies out the result of the call that returned `ret`, or throws its error.
   * @param {number} ret
   * @returns {Uint8Array}
   */
  #result(ret) {
    const ex = /** @type {RegistryExports} */ (this.#exports);
    const buf = ex.memory.buffer; // views detach on growth: always take a fresh one
    const slot = new DataView(buf);
    const ptr = slot.getUint32(this.#slot, true);
    const len = slot.getUint32(this.#slot + 4, true); // ABI rule 4: pointer, then length
    const out = new Uint8Array(buf, ptr, len).slice();
    if (ret >= 0) return out;
    throw new RegistryError(/** @type {Record<number, import('./errors.js').ErrorCode>} */ (CODES)[ret] ?? 'internal', decoder.decode(out) || `error ${ret}`);
  }

  /**
   * Runs one export; a trap (or any exception from inside the instance) discards it, starts a
   * new one that reloads from the files, and reports the call as failed.
   * @template T
   * @param {(ex: RegistryExports) => T} fn
   * @returns {T}
   */
  #call(fn) {
    if (this.#closed) throw new RegistryError('closed', 'registry is closed');
    if (!this.#exports) {
      try {
        this.#start();
      } catch (err) {
        this.#exports = null;
        throw failed(err, this.#wasi);
      }
    }
    try {
      return fn(/** @type {RegistryExports} */ (this.#exports));
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      const stderr = this.#wasi?.stderr?.() ?? '';
      this.#exports = null;
      this.#traps++;
      let after = 'a new instance reloaded the files';
      try {
        this.#start();
      } catch (restartErr) {
        this.#exports = null;
        after = `restarting failed too (${restartErr instanceof Error ? restartErr.message : restartErr})`;
      }
      const what = err instanceof Error ? err.message : String(err);
      throw new RegistryError('trap', `registry.wasm trapped: ${what}${stderr ? `\n${stderr}` : ''}\n(${after})`, {
        cause: err,
      });
    }
  }

  /**
   * Runs a request batch; returns the response batch (a copy).
   * @param {Uint8Array} bytes
   * @returns {Uint8Array}
   */
  request(bytes) {
    if (bytes.length === 0) return new Uint8Array(0);
    return this.#call((ex) => {
      const ptr = ex.alloc(bytes.length);
      if (ptr === 0) throw new RegistryError('malformed', `request of ${bytes.length} bytes refused by alloc`);
      new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
      return this.#result(ex.request(ptr, bytes.length));
    });
  }

  /**
   * Writes a snapshot; returns the module's JSON answer.
   * @returns {{file: string, seq: number, bytes: number}}
   */
  save() {
    return this.#call((ex) => JSON.parse(decoder.decode(this.#result(ex.save()))));
  }

  /**
   * Reloads from the files; returns the module's JSON stats.
   * @returns {Record<string, unknown>}
   */
  load() {
    const out = this.#call((ex) => JSON.parse(decoder.decode(this.#result(ex.load()))));
    this.#loaded = out;
    return out;
  }

  /**
   * Makes the instance trap on purpose (the module's `trap` export, for tests of recovery):
   * throws the 'trap' error after a new instance has reloaded the files.
   */
  trap() {
    this.#call((ex) => {
      if (!ex.trap) throw new RegistryError('internal', 'this registry.wasm has no trap export');
      ex.trap();
    });
  }

  /** Drops the instance (its memory goes with it). */
  close() {
    this.#closed = true;
    this.#exports = null;
    this.#wasi = null;
  }
}


/**
 * @param {unknown} err
 * @param {WasiSet | null} wasi
 */
function failed(err, wasi) {
  if (err instanceof RegistryError) return err;
  const stderr = wasi?.stderr?.() ?? '';
  const what = err instanceof Error ? err.message : String(err);
  return new RegistryError('failed', `registry.wasm could not start: ${what}${stderr ? `\n${stderr}` : ''}`, {
    cause: err,
  });
}
