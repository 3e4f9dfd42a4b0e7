// The page's side of the registry Worker: a small RPC over postMessage.
import { RegistryError } from './errors.js';

/** @typedef {import('./status.js').StorageStatus} StorageStatus */
/** @typedef {string | URL | (() => Worker)} WorkerSource */
/** @typedef {string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module} WasmSource */

/** @param {WasmSource | undefined} wasm */
function wasmForWorker(wasm) {
  if (wasm === undefined) return new URL('./registry.wasm', import.meta.url).href;
  if (wasm instanceof WebAssembly.Module) return wasm;
  if (wasm instanceof ArrayBuffer) return wasm.slice(0);
  if (ArrayBuffer.isView(wasm)) return new Uint8Array(wasm.buffer, wasm.byteOffset, wasm.byteLength).slice().buffer;
  return new URL(String(wasm), globalThis.location?.href).href;
}

/** @param {WorkerSource | undefined} worker */
function startWorker(worker) {
  if (typeof worker === 'function') return worker();
  const url = worker === undefined ? new URL('./worker.js', import.meta.url) : new URL(String(worker), globalThis.location?.href);
  return new Worker(url, { type: 'module', name: 'regwasm' });
}

export class WorkerClient {
  /** @type {Worker} */
  #worker;
  #next = 1;
  /** @type {Map<number, {resolve: (v: any) => void, reject: (e: unknown) => void}>} */
  #calls = new Map();
  /** @type {RegistryError | null} */
  #dead = null;

  /** @param {Worker} worker */
  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = (ev) => {
      const { id, ok, value, error } = ev.data;
      const call = this.#calls.get(id);
      if (!call) return;
      this.#calls.delete(id);
      if (ok) call.resolve(value);
      else call.reject(RegistryError.from(error));
    };
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      this.#fail(new RegistryError('failed', `registry worker failed: ${ev.message || 'could not load the worker script'}`));
    };
    worker.onmessageerror = () => this.#fail(new RegistryError('internal', 'registry worker: message could not be read'));
  }

  /** Whether the worker died (its script failed or it crashed); a new one may be started. */
  get dead() {
    return this.#dead !== null && this.#dead.code !== 'closed';
  }

  /** @param {RegistryError} err */
  #fail(err) {
    this.#dead ??= err;
    for (const c of this.#calls.values()) c.reject(err);
    this.#calls.clear();
  }

  /**
   * Starts a worker and opens the registry in it.
   * @param {{name: string, storage: string, wasm?: WasmSource, worker?: WorkerSource, deterministic?: import('./deterministic.js').DeterministicOption}} options
   * @returns {Promise<{client: WorkerClient, status: StorageStatus}>}
   */
  static async create({ name, storage, wasm, worker, deterministic }) {
    const client = new WorkerClient(startWorker(worker));
    const status = await new Promise((resolve, reject) => {
      client.#calls.set(0, { resolve, reject });
      client.#worker.postMessage({ type: 'open', name, storage, wasm: wasmForWorker(wasm), deterministic });
    }).catch((err) => {
      client.terminate();
      throw err;
    });
    return { client, status };
  }

  /**
   * @param {import('./worker.js').Method} method
   * @param {Uint8Array} [bytes] request bytes, or a file's for writeFile (transferred: the
   *   caller must not reuse them)
   * @param {string} [key] names a call forwarded by another tab (see worker.js)
   * @param {{file?: string, deterministic?: import('./deterministic.js').DeterministicOption}} [args]
   *   the file of readFile and writeFile, the option of reopen
   * @returns {Promise<any>}
   */
  call(method, bytes, key, args) {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, bytes, key, ...args }, bytes ? [bytes.buffer] : []);
    });
  }

  terminate() {
    this.#worker.terminate();
    this.#fail(new RegistryError('closed', 'registry is closed'));
  }
}
