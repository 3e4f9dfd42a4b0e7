// The module Worker that owns one registry instance in a browser: the page (see browser.js)
// sends it request batches; it runs them synchronously on in-memory files and, with
// IndexedDB storage, answers each call only after the files it changed are committed. Commits
// are grouped: calls that arrive while a transaction is in flight share the next one, and
// transactions run in call order.
import { exportNetdata, importNetdata } from './backup.js';
import { deterministic as makeDeterministic } from './deterministic.js';
import { Engine } from './engine.js';
import { RegistryError } from './errors.js';
import { IdbFiles } from './idb.js';
import { ChangeTracker, FlatDirectory, preopenRoot, TrackedFile } from './memfs.js';
import { shimWasi } from './shim.js';
import { storageStatus } from './status.js';

/**
 * @typedef {import('./deterministic.js').DeterministicOption} DeterministicOption
 * @typedef {{type: 'open', name: string, storage: 'indexeddb' | 'memory', wasm: string | ArrayBuffer | WebAssembly.Module, deterministic?: DeterministicOption}} OpenMessage
 * @typedef {'request' | 'save' | 'status' | 'export' | 'import' | 'close' | 'trap' | 'load' | 'readFile' | 'writeFile' | 'reopen' | 'failNextCommit'} Method
 * @typedef {{id: number, method: Method, bytes?: Uint8Array, key?: string, file?: string, deterministic?: DeterministicOption}} CallMessage
 * `export` answers netdata's registry.db text, `import` loads `bytes` as one (backup.js).
 * `key` names a call forwarded by another tab ("tab:id"): its answer is committed with its
 * changes, and a re-sent call with a committed answer gets that answer instead of a second run.
 * `load`, `readFile`, `writeFile` (of `file`, with `bytes`), `reopen` (a new instance on the
 * same files, with `deterministic`) and `failNextCommit` are for tests and tools, like `trap`: the conformance
 * suite reads snapshots, writes netdata files to import, and restarts a memory registry.
 */

/** @param {string | ArrayBuffer | WebAssembly.Module} wasm */
async function compile(wasm) {
  if (wasm instanceof WebAssembly.Module) return wasm;
  if (typeof wasm !== 'string') return WebAssembly.compile(wasm);
  const res = await fetch(wasm);
  if (!res.ok) throw new RegistryError('failed', `fetch ${wasm}: ${res.status} ${res.statusText}`);
  if (res.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}

class Host {
  /** @type {Engine} */
  #engine;
  /** @type {WebAssembly.Module} */
  #module;
  /** @type {FlatDirectory} */
  #dir;
  /** @type {IdbFiles | null} */
  #store;
  /** @type {ChangeTracker | null} */
  #tracker;
  #storage;
  /** @type {Array<(err?: unknown) => void>} calls waiting for the next commit */
  #waiting = [];
  /** @type {Promise<void> | null} */
  #committing = null;
  /** @type {{file: string, seq: number, bytes: number, at: number} | null} */
  #lastSave = null;
  /** @type {number | null} */
  #lastCommit = null;
  /** @type {Map<string, unknown>} committed answers of forwarded calls */
  #replies;
  /** @type {[string, unknown][]} answers to commit with the next transaction */
  #newReplies = [];
  /** @type {import('./deterministic.js').Deterministic | undefined} */
  #det;
  /** @type {Promise<void> | null} a reload of the committed files after a failed commit */
  #recovering = null;
  /** @type {RegistryError | null} why the committed files could not be reloaded */
  #broken = null;

  /**
   * @param {{engine: Engine, module: WebAssembly.Module, dir: FlatDirectory, store: IdbFiles | null, tracker: ChangeTracker | null, storage: string, replies: Map<string, unknown>, det?: import('./deterministic.js').Deterministic}} parts
   */
  constructor({ engine, module, dir, store, tracker, storage, replies, det }) {
    this.#det = det;
    this.#replies = replies;
    this.#engine = engine;
    this.#module = module;
    this.#dir = dir;
    this.#store = store;
    this.#tracker = tracker;
    this.#storage = storage;
  }

  /** @param {OpenMessage} msg */
  static async create({ name, storage, wasm, deterministic }) {
    const det = makeDeterministic(deterministic);
    const modulePromise = compile(wasm);
    let store = null;
    let files = new Map();
    let replies = new Map();
    if (storage === 'indexeddb') ({ store, files, replies } = await IdbFiles.open(name));
    const tracker = store ? new ChangeTracker(files) : null;
    const dir = new FlatDirectory(files, tracker);
    const module = await modulePromise;
    const engine = await Engine.create({ module, makeWasi: () => shimWasi(preopenRoot(dir), { deterministic: det }) });
    const host = new Host({ engine, module, dir, store, tracker, storage, replies, det });
    await host.#durable(); // what load itself wrote (a recovered log, say)
    return host;
  }

  /**
   * Resolves once every change made so far is committed (at once without IndexedDB).
   * @returns {Promise<void>}
   */
  #durable() {
    if (!this.#tracker) return Promise.resolve();
    if (!this.#tracker.dirty && !this.#committing) return Promise.resolve();
    const p = new Promise((resolve, reject) => this.#waiting.push((err) => (err ? reject(err) : resolve(undefined))));
    this.#committing ??= this.#commitLoop();
    return /** @type {Promise<void>} */ (p);
  }

  async #commitLoop() {
    const store = /** @type {IdbFiles} */ (this.#store);
    const tracker = /** @type {ChangeTracker} */ (this.#tracker);
    while (this.#waiting.length > 0) {
      const waiting = this.#waiting;
      this.#waiting = [];
      const changes = tracker.take();
      const replies = this.#newReplies;
      this.#newReplies = [];
      try {
        await store.commit(changes, { replies });
      } catch (err) {
        const error = new RegistryError('persist', `IndexedDB commit failed: ${err instanceof Error ? err.message : err}`, { cause: err });
        // Memory holds the failed changes, and those of the calls waiting for the next commit:
        // none is acknowledged, so none may stay (a later commit would persist it, reads would
        // show it). Every call made since the last commit fails, and the committed files are
        // loaded again before the next call runs.
        const later = this.#waiting;
        this.#waiting = [];
        this.#newReplies = [];
        for (const w of [...waiting, ...later]) w(error);
        await this.#reloadCommitted(error);
        continue;
      }
      if (changes.length) this.#lastCommit = Date.now();
      for (const [k, v] of replies) this.#replies.set(k, v);
      for (const w of waiting) w();
    }
    this.#committing = null;
  }

  /**
   * Replaces the files and the instance by what IndexedDB holds (after a failed commit).
   * @param {RegistryError} cause
   */
  #reloadCommitted(cause) {
    const store = /** @type {IdbFiles} */ (this.#store);
    this.#recovering = (async () => {
      try {
        const { files, replies } = await store.read();
        this.#engine.close();
        const tracker = new ChangeTracker(files);
        const dir = new FlatDirectory(files, tracker);
        this.#dir = dir;
        this.#tracker = tracker;
        this.#replies = replies;
        const det = this.#det;
        this.#engine = await Engine.create({ module: this.#module, makeWasi: () => shimWasi(preopenRoot(dir), { deterministic: det }) });
      } catch (err) {
        this.#broken = new RegistryError('persist', `${cause.message}; reloading the committed files failed too: ${err instanceof Error ? err.message : err}`, { cause: err });
      } finally {
        this.#recovering = null;
      }
    })();
    return this.#recovering;
  }

  /** Waits for a reload after a failed commit; throws when the registry cannot go on. */
  async #ready() {
    if (this.#recovering) await this.#recovering;
    if (this.#broken) throw this.#broken;
  }

  /**
   * Runs `fn` now; the result is delivered once its changes are durable. A failed call still
   * waits: a trap may have written part of a record, which the next load handles.
   * @template T
   * @param {() => T} fn
   * @param {string} [key] a forwarded call's name
   * @returns {Promise<T>}
   */
  async #run(fn, key) {
    await this.#ready();
    if (key !== undefined && this.#replies.has(key)) return copy(/** @type {T} */ (this.#replies.get(key)));
    let value;
    try {
      value = fn();
    } catch (err) {
      await this.#durable().catch(() => {});
      throw err;
    }
    if (key !== undefined && this.#tracker?.dirty) this.#newReplies.push([key, copy(value)]);
    await this.#durable();
    return value;
  }

  /**
   * @param {Uint8Array} bytes
   * @param {string} [key]
   */
  request(bytes, key) {
    return this.#run(() => this.#engine.request(bytes), key);
  }

  /** The module's directory as backup.js uses it. */
  get #io() {
    return {
      request: (/** @type {Uint8Array} */ b) => this.#engine.request(b),
      read: (/** @type {string} */ name) => this.readFile(name),
      write: (/** @type {string} */ name, /** @type {Uint8Array} */ bytes) => {
        this.#dir.contents.set(name, new TrackedFile(bytes));
      },
      remove: (/** @type {string} */ name) => {
        this.#dir.contents.delete(name);
      },
    };
  }

  /** @param {string} [key] */
  exportNetdata(key) {
    return this.#run(() => exportNetdata(this.#io), key);
  }

  /**
   * @param {Uint8Array} db
   * @param {string} [key]
   */
  importNetdata(db, key) {
    return this.#run(() => importNetdata(this.#io, db), key);
  }

  /** @param {string} [key] */
  save(key) {
    return this.#run(() => {
      const r = this.#engine.save();
      this.#lastSave = { ...r, at: Date.now() };
      return r;
    }, key);
  }

  /** Reloads the files (the module's `load`); answers its stats. */
  load() {
    return this.#run(() => this.#engine.load());
  }

  /**
   * A copy of file `name`, or null when there is none.
   * @param {string} name
   */
  readFile(name) {
    return this.#dir.snapshot().get(name)?.slice() ?? null;
  }

  /**
   * Creates or replaces file `name` (committed like the module's own writes).
   * @param {string} name
   * @param {Uint8Array} bytes
   */
  writeFile(name, bytes) {
    return this.#run(() => {
      this.#dir.contents.set(name, new TrackedFile(bytes.slice()));
    });
  }

  /**
   * Replaces the instance by a new one on the same files, as a restarted host would: it
   * loads them and answers the load's stats.
   * @param {DeterministicOption} [deterministic]
   */
  async reopen(deterministic) {
    const det = makeDeterministic(deterministic);
    await this.#durable();
    this.#engine.close();
    const dir = this.#dir;
    this.#engine = await Engine.create({ module: this.#module, makeWasi: () => shimWasi(preopenRoot(dir), { deterministic: det }) });
    await this.#durable(); // what the load wrote
    return this.#engine.loaded;
  }

  /** Tests: the next commit fails as a full quota would. */
  failNextCommit() {
    if (this.#store) this.#store.failNext = 1;
  }

  /** Makes the instance trap (the module's `trap` export): for tests of recovery. */
  trap() {
    return this.#run(() => this.#engine.trap());
  }

  async status() {
    await this.#ready();
    const files = [...this.#dir.snapshot()].map(([name, data]) => ({ name, size: data.byteLength }));
    // persisted: the page asks navigator.storage (browser.js).
    return storageStatus(this.#engine, { storage: this.#storage, files, lastSave: this.#lastSave, lastCommit: this.#lastCommit, persisted: false, engine: 'worker' });
  }

  async close() {
    await this.#durable().catch(() => {});
    this.#engine.close();
    this.#store?.close();
  }
}

/**
 * A copy of an answer (answers are transferred to the page, which detaches their bytes).
 * @template T
 * @param {T} v
 * @returns {T}
 */
function copy(v) {
  return /** @type {T} */ (v instanceof Uint8Array ? v.slice() : v);
}

/** @type {Promise<Host> | null} */
let host = null;

/** @param {unknown} err */
function errorOf(err) {
  return RegistryError.from(err).toJSON();
}

self.onmessage = async (/** @type {MessageEvent<OpenMessage | CallMessage>} */ ev) => {
  const msg = ev.data;
  if ('type' in msg && msg.type === 'open') {
    host = Host.create(msg);
    host.then(
      async (h) => self.postMessage({ id: 0, ok: true, value: await h.status() }),
      (err) => self.postMessage({ id: 0, ok: false, error: errorOf(err) }),
    );
    return;
  }
  const { id, method, bytes, key, file, deterministic } = /** @type {CallMessage} */ (msg);
  try {
    if (!host) throw new RegistryError('closed', 'worker not opened');
    const h = await host;
    /** @type {unknown} */
    let value;
    if (method === 'request') value = await h.request(/** @type {Uint8Array} */ (bytes), key);
    else if (method === 'save') value = await h.save(key);
    else if (method === 'status') value = await h.status();
    else if (method === 'failNextCommit') value = h.failNextCommit();
    else if (method === 'export') value = await h.exportNetdata(key);
    else if (method === 'import') value = await h.importNetdata(/** @type {Uint8Array} */ (bytes), key);
    else if (method === 'close') value = await h.close();
    else if (method === 'trap') value = await h.trap();
    else if (method === 'load') value = await h.load();
    else if (method === 'readFile') value = h.readFile(String(file));
    else if (method === 'writeFile') value = await h.writeFile(String(file), /** @type {Uint8Array} */ (bytes));
    else if (method === 'reopen') value = await h.reopen(deterministic);
    else throw new RegistryError('internal', `unknown method ${method}`);
    const transfer = value instanceof Uint8Array ? [value.buffer] : [];
    self.postMessage({ id, ok: true, value }, { transfer });
  } catch (err) {
    self.postMessage({ id, ok: false, error: errorOf(err) });
  }
};
