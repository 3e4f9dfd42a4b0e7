// The Node host: registry.wasm in a worker thread (node-worker.js), so that calls never block
// the event loop, or with `engine: 'inline'` in this thread. WASI comes from
// browser_wasi_shim as in browsers; a directory is mounted through node:fs (real files, real
// fsync: the module's crash safety holds as on any host; see fsdir.js for why not node:wasi),
// 'memory' uses in-memory files.
import { mkdirSync, realpathSync, rmdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { deterministic as checkDeterministic } from './deterministic.js';
import { RegistryError } from './errors.js';
import { lockDirectory } from './lock.js';
import { NodeHost } from './node-host.js';
import { Registry } from './registry.js';
import { compileWasm } from './wasm-node.js';
import { describe, optionsObject, registryName } from './validate.js';

export { Registry } from './registry.js';
export { RegistryError } from './errors.js';

/**
 * @typedef {object} NodeOpenOptions
 * @property {string} [name] registry name; the default directory is `./<name>` ('registry')
 * @property {string} [storage] 'memory' or a directory (created if missing)
 * @property {string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module} [wasm]
 *   where registry.wasm comes from (default: next to this file)
 * @property {'worker' | 'inline'} [engine] where the module runs: a worker thread (default),
 *   or this thread (calls then block the event loop while they run)
 * @property {import('./deterministic.js').DeterministicOption} [deterministic] tests only:
 *   new GUIDs from a seeded stream and a fixed realtime clock (see deterministic.js)
 * @property {unknown} [worker] a browser option, ignored in Node
 */

const OPTIONS = ['name', 'storage', 'wasm', 'engine', 'deterministic', 'worker'];

/**
 * Opens a registry.
 * @param {NodeOpenOptions} [options]
 * @returns {Promise<Registry>}
 */
export async function openRegistry(options) {
  const o = optionsObject('openRegistry()', options, OPTIONS);
  const name = registryName(o.name);
  const { storage, engine = 'worker' } = o;
  if (storage !== undefined && (typeof storage !== 'string' || storage === '')) {
    throw new RegistryError('invalid', `storage must be 'memory' or a directory path, not ${describe(storage)}`);
  }
  if (storage === 'indexeddb') throw new RegistryError('invalid', "storage 'indexeddb' is for browsers: in Node use 'memory' or a directory");
  if (engine !== 'worker' && engine !== 'inline') throw new RegistryError('invalid', `engine must be 'worker' or 'inline', not ${describe(engine)}`);
  const deterministic = /** @type {NodeOpenOptions['deterministic']} */ (o.deterministic);
  checkDeterministic(deterministic);
  const module = await compileWasm(/** @type {NodeOpenOptions['wasm']} */ (o.wasm));
  /** @param {string} where */
  const start = (where) => (engine === 'inline' ? InlineBackend.create({ module, storage: where, deterministic, engine }) : WorkerBackend.create({ module, storage: where, deterministic }));
  if (storage === 'memory') return new Registry(await start('memory'), { name, storage: 'memory' });
  const dir = resolve(storage ?? name);
  return new Registry(await dirBackend(dir, start), { name, storage: dir });
}

/**
 * A backend over directory `dir`, which it locks (lock.js: one registry per directory, in any
 * process of any host).
 * @param {string} dir
 * @param {(dir: string) => Promise<import('./registry.js').Backend>} start
 */
async function dirBackend(dir, start) {
  let real;
  try {
    mkdirSync(dir, { recursive: true });
    // The directory lock of every host, on the real directory: a symlinked one is mounted as
    // its target.
    real = realpathSync(dir);
  } catch (err) {
    throw new RegistryError('storage', `cannot use ${dir} as the registry's directory: ${err instanceof Error ? err.message : err}`, { cause: err });
  }
  const lock = await lockDirectory(real);
  try {
    const backend = await start(real);
    const close = backend.close.bind(backend);
    const destroy = backend.destroy.bind(backend);
    backend.close = () => close().finally(() => lock.release());
    backend.destroy = () =>
      destroy().finally(() => {
        lock.release();
        removeIfEmpty(real);
      });
    return backend;
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * Removes a destroyed registry's directory when nothing else is left in it.
 * @param {string} dir
 */
function removeIfEmpty(dir) {
  try {
    rmdirSync(dir);
  } catch (err) {
    const code = /** @type {{code?: string}} */ (err)?.code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw err;
  }
}

/**
 * @param {{code: string, message: string, cause?: {name: string, message: string, code?: string}}} e
 */
function fromWire(e) {
  let cause;
  if (e.cause) cause = Object.assign(new Error(e.cause.message), { name: e.cause.name, code: e.cause.code });
  return new RegistryError(/** @type {any} */ (RegistryError.from(e).code), e.message, cause ? { cause } : undefined);
}

/** The registry in a worker thread: a small RPC over a MessagePort. */
class WorkerBackend {
  /** @type {Worker} */
  #worker;
  /** @type {import('node:worker_threads').MessagePort} */
  #port;
  #next = 1;
  /** @type {Map<number, {resolve: (v: any) => void, reject: (e: unknown) => void}>} */
  #calls = new Map();
  /** @type {RegistryError | null} */
  #dead = null;
  /** @type {(ev: import('./registry.js').RegistryEvent) => void} */
  #emit = () => {};
  /** @type {{id: number, bytes: Uint8Array, count: number}[]} requests not sent yet */
  #outbox = [];

  /**
   * @param {Worker} worker
   * @param {import('node:worker_threads').MessagePort} port
   */
  constructor(worker, port) {
    this.#worker = worker;
    this.#port = port;
    port.on('message', (msg) => {
      for (const { id, ok, value, error } of msg.replies ?? [msg]) {
        const call = this.#calls.get(id);
        if (!call) continue;
        this.#calls.delete(id);
        if (ok) call.resolve(value);
        else call.reject(fromWire(error));
      }
      this.#idle();
    });
    worker.on('error', (err) => this.#fail(new RegistryError('failed', `the registry's worker thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => this.#fail(new RegistryError(code === 0 ? 'closed' : 'failed', code === 0 ? 'registry is closed' : `the registry's worker thread exited (code ${code})`)));
  }

  /**
   * Starts the worker thread and opens the registry in it.
   * @param {{module: WebAssembly.Module, storage: string, deterministic?: import('./deterministic.js').DeterministicOption}} options
   */
  static async create(options) {
    const { port1, port2 } = new MessageChannel();
    let worker;
    try {
      worker = new Worker(new URL('./node-worker.js', import.meta.url), { workerData: { port: port2, options }, transferList: [port2], name: 'regwasm' });
    } catch (err) {
      throw new RegistryError('failed', `cannot start the registry's worker thread: ${err instanceof Error ? err.message : err}`, { cause: err });
    }
    const b = new WorkerBackend(worker, port1);
    try {
      await b.#call(0, 'open');
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return b;
  }

  /**
   * @param {number} id
   * @param {string} method
   * @param {Record<string, unknown>} [args]
   * @param {ArrayBuffer[]} [transfer]
   * @param {boolean} [post] false: the caller sends the message
   * @returns {Promise<any>}
   */
  #call(id, method, args, transfer = [], post = true) {
    if (this.#dead) return Promise.reject(this.#dead);
    if (this.#calls.size === 0) {
      // While a call waits the worker keeps the process alive; an idle open registry does not.
      this.#worker.ref();
      this.#port.ref();
    }
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      if (id === 0 || !post) return;
      this.#send(); // requests made before go first
      this.#port.postMessage({ id, method, ...args }, transfer);
    });
  }

  #idle() {
    if (this.#calls.size > 0) return;
    this.#worker.unref();
    this.#port.unref();
  }

  /** @param {RegistryError} err */
  #fail(err) {
    const first = !this.#dead;
    this.#dead ??= err;
    for (const c of this.#calls.values()) c.reject(this.#dead);
    this.#calls.clear();
    if (first && err.code === 'failed') this.#emit({ type: 'failed', error: err });
  }

  /** @param {(ev: import('./registry.js').RegistryEvent) => void} emit */
  listen(emit) {
    this.#emit = emit;
  }

  /**
   * @param {Uint8Array} bytes
   * @param {number} count
   */
  request(bytes, count) {
    const id = this.#next++;
    // Requests made in the same turn (Promise.all) go as one message, run as one module call.
    if (!this.#dead && this.#outbox.push({ id, bytes, count }) === 1) queueMicrotask(() => this.#send());
    return this.#call(id, 'request', undefined, undefined, false);
  }

  #send() {
    const calls = this.#outbox;
    this.#outbox = [];
    if (calls.length === 0 || this.#dead) return;
    this.#port.postMessage({ id: 0, method: 'request', calls }, calls.map((c) => /** @type {ArrayBuffer} */ (c.bytes.buffer)));
  }

  save() {
    return this.#call(this.#next++, 'save');
  }

  status() {
    return this.#call(this.#next++, 'status');
  }

  exportNetdata() {
    return this.#call(this.#next++, 'export');
  }

  /** @param {Uint8Array} db */
  importNetdata(db) {
    return this.#call(this.#next++, 'import', { bytes: db }, [/** @type {ArrayBuffer} */ (db.buffer)]);
  }

  /** @param {'close' | 'destroy'} method */
  async #end(method) {
    if (this.#dead) return;
    try {
      await this.#call(this.#next++, method);
    } catch (err) {
      // The worker may exit before its answer is read: that is the close we asked for.
      if (!(err instanceof RegistryError && err.code === 'closed')) throw err;
    } finally {
      this.#fail(new RegistryError('closed', 'registry is closed'));
      await this.#worker.terminate();
    }
  }

  close() {
    return this.#end('close');
  }

  destroy() {
    return this.#end('destroy');
  }
}

/**
 * The registry in this thread (engine: 'inline'). Calls made in the same turn of the event
 * loop (Promise.all) share one module call.
 */
class InlineBackend {
  /** @type {NodeHost} */
  #host;
  /** @type {{bytes: Uint8Array, count: number, resolve: (v: Uint8Array) => void, reject: (e: unknown) => void}[]} */
  #queue = [];
  #closed = false;

  /** @param {NodeHost} host */
  constructor(host) {
    this.#host = host;
  }

  /** @param {import('./node-host.js').HostOptions} options */
  static async create(options) {
    return new InlineBackend(await NodeHost.create(options));
  }

  /**
   * @template T
   * @param {() => T} fn
   * @returns {Promise<T>}
   */
  async #run(fn) {
    if (this.#closed) throw new RegistryError('closed', 'registry is closed');
    return fn();
  }

  /**
   * @param {Uint8Array} bytes
   * @param {number} count
   * @returns {Promise<Uint8Array>}
   */
  request(bytes, count) {
    if (this.#closed) return Promise.reject(new RegistryError('closed', 'registry is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ bytes, count, resolve, reject });
      if (this.#queue.length === 1) queueMicrotask(() => this.#flush());
    });
  }

  #flush() {
    const q = this.#queue;
    this.#queue = [];
    const out = this.#host.requestMany(q.map((c) => c.bytes), q.map((c) => c.count));
    out.forEach((o, i) => (o.ok ? q[i].resolve(o.value) : q[i].reject(o.error)));
  }

  save() {
    return this.#run(() => this.#host.save());
  }

  status() {
    return this.#run(() => this.#host.status());
  }

  exportNetdata() {
    return this.#run(() => this.#host.exportNetdata());
  }

  /** @param {Uint8Array} db */
  importNetdata(db) {
    return this.#run(() => this.#host.importNetdata(db));
  }

  async close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.close();
  }

  async destroy() {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.destroy();
  }
}
