// The browser host. The registry runs in a module Worker (a large load never freezes the
// page); the page encodes and decodes. Tabs that open the same registry share one instance:
// the tab holding the Web Lock `regwasm:<storage>:<name>` owns the Worker, the others forward
// their calls over a BroadcastChannel, and when the owner goes away the next tab in the lock's
// queue takes over (loading the committed files) and every tab re-sends its unanswered calls.
// An owner answers a call only after its changes are committed, so an answered call is never
// lost; a forwarded call's answer is committed with its changes, so a re-sent call that the
// dead owner had committed gets that answer instead of running twice.
import { deterministic as checkDeterministic } from './deterministic.js';
import { RegistryError } from './errors.js';
import { IdbFiles } from './idb.js';
import { Registry } from './registry.js';
import { describe, optionsObject, registryName } from './validate.js';
import { WorkerClient } from './worker-client.js';

export { Registry } from './registry.js';
export { RegistryError } from './errors.js';

/** @typedef {import('./registry.js').Backend} Backend */
/** @typedef {import('./status.js').StorageStatus} StorageStatus */
/** @typedef {import('./worker-client.js').WasmSource} WasmSource */
/** @typedef {import('./worker-client.js').WorkerSource} WorkerSource */
/** @typedef {'request' | 'save' | 'status' | 'export' | 'import'} Method */
/** @typedef {import('./registry.js').RegistryEvent} RegistryEvent */
/** @typedef {import('./deterministic.js').DeterministicOption} DeterministicOption */
/** @typedef {{name: string, storage: string, wasm?: WasmSource, worker?: WorkerSource, deterministic?: DeterministicOption}} BackendOptions */

/**
 * @typedef {{t: 'call', from: string, id: number, method: Method, bytes?: Uint8Array}
 *   | {t: 'reply', to: string, id: number, ok: boolean, value?: unknown, error?: {code: string, message: string}}
 *   | {t: 'ready', owner: string, takeover: boolean}
 *   | {t: 'failed', owner: string, error: {code: string, message: string}}
 *   | {t: 'changed', from: string}
 *   | {t: 'destroy', from: string}} ChannelMessage
 * `ready` with takeover: a tab took over from an owner that went away (a memory registry
 * then starts empty); `changed`: a tab's call changed the registry; `destroy`: a tab is
 * deleting the registry, every other tab closes it.
 */

function randomId() {
  if (typeof globalThis.crypto?.randomUUID === 'function') return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Whether the browser granted persistent storage (IndexedDB is evictable otherwise). */
async function persisted() {
  try {
    return (await globalThis.navigator?.storage?.persisted?.()) === true;
  } catch {
    return false;
  }
}

/** How many answered calls an owner remembers, to answer a re-sent call without re-running it. */
const SERVED_MEMORY = 4096;

class SharedBackend {
  #key;
  #options;
  #tab = randomId();
  /** @type {BroadcastChannel | null} */
  #channel = null;
  #abort = new AbortController();
  /** @type {'client' | 'owner' | 'closing' | 'closed'} */
  #role = 'client';
  /** @type {Promise<WorkerClient> | null} the owner's worker */
  #worker = null;
  /** @type {() => void} releases the lock */
  #release = () => {};
  #next = 1;
  /** @type {Map<number, {method: Method, bytes?: Uint8Array, resolve: (v: any) => void, reject: (e: unknown) => void}>} */
  #pending = new Map();
  /** @type {Map<string, Promise<unknown>>} */
  #served = new Map();
  /** @type {Set<Promise<unknown>>} */
  #inflight = new Set();
  /** @type {(ev: RegistryEvent) => void} */
  #emit = () => {};

  /**
   * @param {string} key
   * @param {BackendOptions} options
   */
  constructor(key, options) {
    this.#key = key;
    this.#options = options;
  }

  /** @param {BackendOptions} options */
  static async create(options) {
    const key = `regwasm:${options.storage}:${options.name}`;
    const b = new SharedBackend(key, options);
    if (!globalThis.navigator?.locks || typeof BroadcastChannel === 'undefined') {
      await b.#own(); // nothing to share with: a private instance
      return b;
    }
    b.#channel = new BroadcastChannel(key);
    b.#channel.onmessage = (ev) => b.#onMessage(ev.data);
    // Own it now if nobody does (so that errors of the load reach this caller), else queue for
    // ownership and forward calls meanwhile.
    const owned = await new Promise((resolve, reject) => {
      navigator.locks
        .request(key, { ifAvailable: true }, async (lock) => {
          if (!lock) return resolve(false);
          try {
            await b.#own();
          } catch (err) {
            reject(err);
            return;
          }
          resolve(true);
          await new Promise((r) => (b.#release = () => r(undefined)));
        })
        .catch(reject);
    }).catch((err) => {
      b.#channel?.close();
      throw err;
    });
    if (!owned) b.#queueForOwnership();
    return b;
  }

  #queueForOwnership() {
    navigator.locks
      .request(this.#key, { signal: this.#abort.signal }, async () => {
        if (this.#role !== 'client') return;
        try {
          await this.#own(true);
        } catch (err) {
          const e = RegistryError.from(err);
          this.#send({ t: 'failed', owner: this.#tab, error: e.toJSON() });
          this.#rejectPending(e);
          this.#role = 'closed';
          this.#emit({ type: 'failed', error: e });
          return;
        }
        await new Promise((r) => (this.#release = () => r(undefined)));
      })
      .catch(() => {}); // aborted by close()
  }

  /**
   * Starts the worker, runs this tab's unanswered calls, tells the other tabs.
   * @param {boolean} [takeover] the owner before went away
   */
  async #own(takeover = false) {
    this.#worker = WorkerClient.create(this.#options).then(({ client }) => client);
    await this.#worker;
    this.#role = 'owner';
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      // Forwarded before: the dead owner may have committed it; the key finds its answer.
      this.#track(this.#exec(p.method, p.bytes, `${this.#tab}:${id}`)).then(p.resolve, p.reject);
    }
    this.#send({ t: 'ready', owner: this.#tab, takeover });
    if (takeover) {
      this.#emit({ type: 'owner' });
      if (this.#options.storage === 'memory') this.#emit({ type: 'reset', reason: 'the tab that held this memory registry closed: it restarted empty in this tab' });
    }
  }

  /**
   * @template T
   * @param {Promise<T>} p
   */
  #track(p) {
    this.#inflight.add(p);
    const drop = () => this.#inflight.delete(p);
    p.then(drop, drop);
    return p;
  }

  /**
   * @param {Method} method
   * @param {Uint8Array} [bytes]
   * @param {string} [key] "tab:id" of a forwarded call
   */
  async #exec(method, bytes, key) {
    let worker = await /** @type {Promise<WorkerClient>} */ (this.#worker);
    if (worker.dead && this.#role === 'owner') {
      // The worker crashed: a new one loads the committed files (what a new owner would do).
      this.#worker = WorkerClient.create(this.#options).then(({ client }) => client);
      worker = await this.#worker;
    }
    return worker.call(method, bytes, key);
  }

  /** @param {ChannelMessage} msg */
  #onMessage(msg) {
    switch (msg.t) {
      case 'call': {
        if (this.#role !== 'owner') return; // for another owner, or we are leaving: re-sent later
        const key = `${msg.from}:${msg.id}`;
        let p = this.#served.get(key);
        if (!p) {
          p = this.#track(this.#exec(msg.method, msg.bytes, key));
          this.#served.set(key, p);
          if (this.#served.size > SERVED_MEMORY) this.#served.delete(/** @type {string} */ (this.#served.keys().next().value));
        }
        p.then(
          (value) => this.#send({ t: 'reply', to: msg.from, id: msg.id, ok: true, value }),
          (err) => this.#send({ t: 'reply', to: msg.from, id: msg.id, ok: false, error: RegistryError.from(err).toJSON() }),
        );
        return;
      }
      case 'reply': {
        if (msg.to !== this.#tab) return;
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(RegistryError.from(msg.error));
        return;
      }
      case 'ready': {
        if (this.#role !== 'client') return;
        for (const [id, p] of this.#pending) this.#post(id, p.method, p.bytes);
        if (msg.takeover && this.#options.storage === 'memory') {
          this.#emit({ type: 'reset', reason: 'the tab that held this memory registry closed: it restarted empty in another tab' });
        }
        return;
      }
      case 'failed': {
        if (this.#role !== 'client') return;
        const e = RegistryError.from(msg.error);
        this.#rejectPending(e);
        this.#emit({ type: 'failed', error: e });
        return;
      }
      case 'changed': {
        if (msg.from !== this.#tab && (this.#role === 'client' || this.#role === 'owner')) this.#emit({ type: 'change', from: msg.from });
        return;
      }
      case 'destroy': {
        if (msg.from !== this.#tab) this.#shutdown('destroyed').catch(() => {});
        return;
      }
    }
  }

  /**
   * @param {number} id
   * @param {Method} method
   * @param {Uint8Array} [bytes]
   */
  #post(id, method, bytes) {
    this.#send({ t: 'call', from: this.#tab, id, method, bytes });
  }

  /** @param {ChannelMessage} msg */
  #send(msg) {
    try {
      this.#channel?.postMessage(msg);
    } catch {
      // closed: this tab is leaving; the other tabs re-send to the next owner
    }
  }

  /** @param {RegistryError} err */
  #rejectPending(err) {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /**
   * @param {Method} method
   * @param {Uint8Array} [bytes]
   */
  #call(method, bytes) {
    if (this.#role === 'closing' || this.#role === 'closed') {
      return Promise.reject(new RegistryError('closed', 'registry is closed'));
    }
    if (this.#role === 'owner') return this.#track(this.#exec(method, bytes));
    const id = this.#next++;
    return this.#track(
      new Promise((resolve, reject) => {
        this.#pending.set(id, { method, bytes, resolve, reject });
        this.#post(id, method, bytes);
      }),
    );
  }

  /**
   * @param {Uint8Array} bytes
   * @param {number} [_count]
   */
  request(bytes, _count) {
    return /** @type {Promise<Uint8Array>} */ (this.#call('request', bytes));
  }

  save() {
    return /** @type {Promise<{file: string, seq: number, bytes: number}>} */ (this.#call('save'));
  }

  async status() {
    const s = /** @type {StorageStatus} */ (await this.#call('status'));
    return { ...s, owner: this.#role === 'owner', persisted: this.#options.storage === 'indexeddb' && (await persisted()) };
  }

  exportNetdata() {
    return /** @type {Promise<Uint8Array>} */ (this.#call('export'));
  }

  /** @param {Uint8Array} db */
  importNetdata(db) {
    return /** @type {Promise<Uint8Array>} */ (this.#call('import', db));
  }

  /** @param {(ev: RegistryEvent) => void} emit */
  listen(emit) {
    this.#emit = emit;
  }

  /** A call of this tab changed the registry: the other tabs hear of it. */
  changed() {
    this.#send({ t: 'changed', from: this.#tab });
  }

  /**
   * Another tab deletes the registry: leave at once (its calls are refused).
   * @param {string} reason
   */
  async #shutdown(reason) {
    if (this.#role === 'closing' || this.#role === 'closed') return;
    const wasOwner = this.#role === 'owner';
    this.#role = 'closing';
    this.#abort.abort();
    this.#rejectPending(new RegistryError('closed', `registry is closed: another tab ${reason} it`));
    if (wasOwner && this.#worker) {
      const worker = await this.#worker.catch(() => null);
      await worker?.call('close').catch(() => {});
      worker?.terminate();
    }
    this.#release();
    this.#channel?.close();
    this.#role = 'closed';
    this.#emit({ type: 'close', reason });
  }

  /** Closes the registry in every tab, then deletes its database. */
  async destroy() {
    this.#send({ t: 'destroy', from: this.#tab });
    await this.close();
    if (this.#options.storage !== 'indexeddb') return;
    const drop = () => IdbFiles.destroy(this.#options.name);
    // The lock is free once the tab that owned the registry has closed it.
    if (globalThis.navigator?.locks) await navigator.locks.request(this.#key, drop);
    else await drop();
  }

  async close() {
    if (this.#role === 'closing' || this.#role === 'closed') return;
    const wasOwner = this.#role === 'owner';
    // Let this tab's calls (and, as owner, the calls being served) finish first.
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    if (this.#role !== 'owner' && this.#role !== 'client') return;
    this.#role = 'closing';
    this.#abort.abort();
    if (wasOwner && this.#worker) {
      const worker = await this.#worker;
      await worker.call('close').catch(() => {});
      worker.terminate();
    }
    this.#release(); // the next tab in the lock's queue takes over
    this.#channel?.close();
    this.#role = 'closed';
  }
}

/**
 * @typedef {object} BrowserOpenOptions
 * @property {string} [name] registry name ('registry'); tabs opening the same name and storage
 *   share one instance
 * @property {'indexeddb' | 'memory'} [storage] 'indexeddb' (default) or 'memory'
 * @property {WasmSource} [wasm] where registry.wasm comes from (default: next to this file)
 * @property {WorkerSource} [worker] the worker script URL (default: worker.js next to this
 *   file), or a function that starts the Worker
 * @property {unknown} [engine] a Node option, ignored in browsers (the module always runs in a Worker)
 * @property {DeterministicOption} [deterministic] tests only: new GUIDs from a seeded stream
 *   and a fixed realtime clock (see deterministic.js); plain data, it goes to the Worker.
 *   Each Worker that loads the registry (a new owner tab, a restart) starts the stream anew.
 */

/**
 * Opens a registry: in this tab's Worker, or through the tab that already owns it.
 * @param {BrowserOpenOptions} [options]
 * @returns {Promise<Registry>}
 */
export async function openRegistry(options) {
  const o = optionsObject('openRegistry()', options, ['name', 'storage', 'wasm', 'worker', 'deterministic', 'engine']);
  const name = registryName(o.name);
  const { storage = 'indexeddb', wasm, worker, deterministic } = /** @type {BrowserOpenOptions} */ (o);
  if (storage !== 'indexeddb' && storage !== 'memory') {
    throw new RegistryError('invalid', `storage must be 'indexeddb' or 'memory' in a browser, not ${describe(storage)}`);
  }
  checkDeterministic(deterministic); // refused here rather than inside the Worker
  const backend = await SharedBackend.create({ name, storage, wasm, worker, deterministic });
  return new Registry(backend, { name, storage });
}
