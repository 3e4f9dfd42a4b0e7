// The page's side of the registry Worker: a small RPC over postMessage.
import { RegistryError } from './errors.js';

/** @typedef {import('./status.js').StorageStatus} StorageStatus */
/** @typedef {string | URL | (() => Worker)} WorkerSource */
/** @typedef {string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module} WasmSource */

const BUNDLERS = 'see "Bundlers" in the package README';

/**
 * The URL of `file` next to this bundle. esbuild's default format (iife) leaves
 * import.meta empty: then say what to do rather than fail on an invalid URL.
 * @param {string} file
 */
function besideBundle(file) {
  const base = /** @type {string | undefined} */ (import.meta.url);
  if (!base) {
    throw new RegistryError(
      'failed',
      `regwasm cannot find ${file}: this bundle has no import.meta.url (esbuild builds iife by default). ` +
        `Bundle with --format=esm (and <script type="module">), or copy worker.js and registry.wasm from ` +
        `node_modules/regwasm/dist/ next to your page and pass their URLs as the worker and wasm options (${BUNDLERS})`,
    );
  }
  return new URL(`./${file}`, base);
}

/** @param {WasmSource | undefined} wasm */
function wasmForWorker(wasm) {
  if (wasm === undefined) return besideBundle('registry.wasm').href;
  if (wasm instanceof WebAssembly.Module) return wasm;
  if (wasm instanceof ArrayBuffer) return wasm.slice(0);
  if (ArrayBuffer.isView(wasm)) return new Uint8Array(wasm.buffer, wasm.byteOffset, wasm.byteLength).slice().buffer;
  return new URL(String(wasm), globalThis.location?.href).href;
}

/**
 * @param {WorkerSource | undefined} worker
 * @returns {{worker: Worker, url: string | null}}
 */
function startWorker(worker) {
  if (typeof worker === 'function') return { worker: worker(), url: null };
  const url = worker === undefined ? besideBundle('worker.js') : new URL(String(worker), globalThis.location?.href);
  try {
    return { worker: new Worker(url, { type: 'module', name: 'regwasm' }), url: url.href };
  } catch (err) {
    throw new RegistryError('failed', `cannot start the registry worker ${url.href}: ${err instanceof Error ? err.message : err}`, { cause: err });
  }
}

/**
 * What fetching the worker script answers, to say why it did not load.
 * @param {string} url
 */
async function probe(url) {
  try {
    const res = await fetch(url, { cache: 'no-store' });
    if (!res.ok) return `HTTP ${res.status} ${res.statusText}`.trim();
    const type = res.headers.get('content-type') ?? '';
    return /javascript|ecmascript/.test(type) ? 'it loads, but failed to run' : `served as ${type || 'no content type'}, not JavaScript`;
  } catch (err) {
    return `fetch failed: ${err instanceof Error ? err.message : err}`;
  }
}

export class WorkerClient {
  /** @type {Worker} */
  #worker;
  #next = 1;
  /** @type {Map<number, {resolve: (v: any) => void, reject: (e: unknown) => void}>} */
  #calls = new Map();
  /** @type {RegistryError | null} */
  #dead = null;

  /** @type {string | null} the worker script's URL */
  #url;

  /**
   * @param {Worker} worker
   * @param {string | null} [url]
   */
  constructor(worker, url = null) {
    this.#worker = worker;
    this.#url = url;
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
      const what = this.#url ? `the worker script ${this.#url}` : 'the worker the worker option started';
      this.#fail(new RegistryError('failed', `registry worker failed: ${ev.message || `could not load ${what}`}`));
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
    const wasmSource = wasmForWorker(wasm);
    const started = startWorker(worker);
    const client = new WorkerClient(started.worker, started.url);
    const status = await new Promise((resolve, reject) => {
      client.#calls.set(0, { resolve, reject });
      client.#worker.postMessage({ type: 'open', name, storage, wasm: wasmSource, deterministic });
    }).catch(async (err) => {
      client.terminate();
      if (started.url && err instanceof RegistryError && /could not load/.test(err.message)) {
        throw new RegistryError(
          'failed',
          `could not load the registry worker script ${started.url} (${await probe(started.url)}): serve node_modules/regwasm/dist/worker.js at that URL, or pass its URL as the worker option (${BUNDLERS})`,
        );
      }
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
