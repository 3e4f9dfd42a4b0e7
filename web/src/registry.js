// The registry API every JS host returns: actions are encoded here, run by a backend (a
// worker thread or the main thread in Node, a Worker or another tab in browsers), and decoded
// back. No registry logic lives here: validation of values, cleaning and JSON shapes are the
// wasm module's; this layer only refuses arguments of the wrong type or shape.
import { decodeResponse, encodeRequest, toResult } from './codec.js';
import { invalid, RegistryError } from './errors.js';
import { describe, optionsObject, string } from './validate.js';

/**
 * @typedef {object} Backend
 * @property {(bytes: Uint8Array, count: number) => Promise<Uint8Array>} request runs a request
 *   batch of `count` actions
 * @property {() => Promise<{file: string, seq: number, bytes: number}>} save
 * @property {() => Promise<import('./status.js').StorageStatus>} status
 * @property {() => Promise<Uint8Array>} exportNetdata netdata's registry.db text
 * @property {(db: Uint8Array) => Promise<Uint8Array>} importNetdata the import's response batch
 * @property {() => Promise<void>} close
 * @property {() => Promise<void>} destroy closes and deletes the registry's files
 * @property {(emit: (ev: RegistryEvent) => void) => void} [listen] the backend's events
 * @property {() => void} [changed] a call of this process or tab changed the registry
 */

/**
 * @typedef {{type: 'change', from: string}
 *   | {type: 'owner'}
 *   | {type: 'reset', reason: string}
 *   | {type: 'close', reason: string}
 *   | {type: 'failed', error: RegistryError}} RegistryEvent
 * @typedef {RegistryEvent['type']} EventType
 * @typedef {{signal?: AbortSignal, timeout?: number}} CallOptions
 * @typedef {CallOptions & {when?: number | Date, quiet?: boolean}} ActionOptions
 * @typedef {Record<string, any> & {status: number, person: string}} Result
 */

const EVENTS = /** @type {const} */ (['change', 'owner', 'reset', 'close', 'failed']);
const CALL = /** @type {const} */ (['signal', 'timeout']);
const ACTION = /** @type {const} */ (['when', 'quiet', 'signal', 'timeout']);
/** Actions that change the registry when they answer 200. */
const CHANGING = new Set(['access', 'delete', 'expire', 'configure', 'import']);

/**
 * The four-field actions: their names in order, and the field the options form calls the last.
 * @type {Record<'access' | 'delete' | 'search' | 'switch', string>}
 */
const LAST_FIELD = { access: 'name', delete: 'deleteUrl', search: 'for', switch: 'to' };

/**
 * Checks the call options `signal` and `timeout`.
 * @param {string} what
 * @param {Record<string, unknown>} o
 * @returns {CallOptions}
 */
function callOptions(what, o) {
  const { signal, timeout } = o;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof (/** @type {any} */ (signal).addEventListener) !== 'function' || !('aborted' in signal))) {
    throw invalid(`${what}: signal must be an AbortSignal, not ${describe(signal)}`);
  }
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0) || !Number.isFinite(timeout))) {
    throw invalid(`${what}: timeout must be a number of milliseconds, not ${describe(timeout)}`);
  }
  return { signal: /** @type {AbortSignal | undefined} */ (signal), timeout: /** @type {number | undefined} */ (timeout) };
}

/** @param {unknown} reason */
function aborted(reason) {
  return new RegistryError('aborted', `call aborted${reason instanceof Error ? `: ${reason.message}` : ''}`, { cause: reason });
}

export class Registry {
  /** @type {Backend} */
  #backend;
  #name;
  #storage;
  /** @type {Promise<void> | null} */
  #closing = null;
  #closed = false;
  /** @type {Map<EventType, Set<(ev: any) => void>>} */
  #listeners = new Map();

  /**
   * Use `openRegistry()`; this wraps an open backend.
   * @param {Backend} backend
   * @param {{name: string, storage: string}} info
   */
  constructor(backend, { name, storage }) {
    this.#backend = backend;
    this.#name = name;
    this.#storage = storage;
    backend.listen?.((ev) => {
      if (ev.type === 'close') this.#closing ??= Promise.resolve();
      this.#emit(ev);
    });
  }

  get name() {
    return this.#name;
  }

  get storage() {
    return this.#storage;
  }

  /**
   * Calls `listener` on each event of `type`: 'change' (another tab changed the registry),
   * 'owner' (this tab now runs the registry), 'reset' (a memory registry restarted empty: the
   * tab that held it closed), 'close', 'failed' (the registry stopped working). Returns a
   * function that removes the listener.
   * @template {EventType} T
   * @param {T} type
   * @param {(ev: Extract<RegistryEvent, {type: T}>) => void} listener
   * @returns {() => void}
   */
  on(type, listener) {
    if (!EVENTS.includes(type)) throw invalid(`unknown event ${describe(type)} (known: ${EVENTS.join(', ')})`);
    if (typeof listener !== 'function') throw invalid(`on(${JSON.stringify(type)}): the listener must be a function, not ${describe(listener)}`);
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    const fn = /** @type {(ev: any) => void} */ (listener);
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  /** @param {RegistryEvent} ev */
  #emit(ev) {
    if (ev.type === 'close') {
      if (this.#closed) return;
      this.#closed = true;
    }
    for (const fn of this.#listeners.get(ev.type) ?? []) {
      try {
        fn(ev);
      } catch (err) {
        // A listener's error must not break the registry: report it as an uncaught error.
        setTimeout(() => {
          throw err;
        });
      }
    }
  }

  /**
   * Runs `run` unless closed or aborted; rejects when the signal fires or the timeout passes
   * first. An action already sent may still be applied: aborting stops the wait.
   * @template T
   * @param {string} what
   * @param {CallOptions} options
   * @param {() => Promise<T>} run
   * @returns {Promise<T>}
   */
  async #guard(what, { signal, timeout }, run) {
    if (this.#closing) throw new RegistryError('closed', 'registry is closed');
    if (signal?.aborted) throw aborted(signal.reason);
    const p = run();
    if (!signal && timeout === undefined) return p;
    return new Promise((resolve, reject) => {
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let timer;
      const onAbort = () => {
        done();
        reject(aborted(signal?.reason));
      };
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          done();
          reject(new RegistryError('timeout', `${what}: no answer within ${timeout} ms (an action already sent may still be applied)`));
        }, timeout);
      }
      p.then(
        (v) => {
          done();
          resolve(v);
        },
        (e) => {
          done();
          reject(e);
        },
      );
    });
  }

  /**
   * Runs several actions as one request: parsed completely before anything is applied, so a
   * malformed batch changes nothing. Each action is `{action, when?, quiet?, ...fields}` with the
   * fields of that action (see the methods).
   * @param {ReadonlyArray<{action: string, [field: string]: unknown}>} actions
   * @param {CallOptions} [options]
   * @returns {Promise<Result[]>}
   */
  async batch(actions, options) {
    return this.#batch(actions, callOptions('batch', optionsObject('batch()', options, CALL)));
  }

  /**
   * @param {ReadonlyArray<{action: string, [field: string]: unknown}>} actions
   * @param {CallOptions} options
   */
  async #batch(actions, options) {
    if (this.#closing) throw new RegistryError('closed', 'registry is closed');
    const bytes = encodeRequest(actions);
    const records = decodeResponse(await this.#guard('batch', options, () => this.#backend.request(bytes, actions.length)));
    if (records.length !== actions.length) {
      throw new RegistryError('internal', `${actions.length} actions got ${records.length} responses`);
    }
    const results = records.map(toResult);
    if (this.#backend.changed && results.some((r, i) => r.status === 200 && CHANGING.has(actions[i].action) && !(actions[i].action === 'expire' && !r.expired))) {
      this.#backend.changed();
    }
    return results;
  }

  /**
   * @param {Record<string, unknown>} action
   * @param {Record<string, unknown>} options
   * @returns {Promise<Result>}
   */
  async #one(action, options) {
    const [r] = await this.#batch([/** @type {any} */ (action)], callOptions(String(action.action), options));
    return r;
  }

  /**
   * The four-field actions, positional or with one options object.
   * @param {'access' | 'delete' | 'search' | 'switch'} action
   * @param {unknown[]} args
   */
  #four(action, args) {
    const field = LAST_FIELD[action];
    if (args[0] !== null && typeof args[0] === 'object') {
      if (args.length > 1) throw invalid(`${action}(): with an options object, pass nothing else`);
      const o = optionsObject(`${action}()`, args[0], ['person', 'machine', 'url', field, ...ACTION]);
      string(`${action}: person`, o.person, true);
      string(`${action}: machine`, o.machine);
      string(`${action}: url`, o.url);
      string(`${action}: ${field}`, o[field], action === 'access');
      const { person, machine, url, when, quiet } = o;
      return this.#one({ action, person, machine, url, [field]: o[field], when, quiet }, o);
    }
    const [person, machine, url, value, options] = args;
    string(`${action}: person`, person, true);
    string(`${action}: machine`, machine);
    string(`${action}: url`, url);
    string(`${action}: ${field}`, value, action === 'access');
    const o = optionsObject(`${action}() options`, options, ACTION);
    return this.#one({ action, person, machine, url, [field]: value, when: o.when, quiet: o.quiet }, o);
  }

  /**
   * Records that `person` reached `machine` through `url` (netdata's access). Also
   * `access({person, machine, url, name, when, quiet, signal, timeout})`.
   * @param {...any} args person ('' or unknown: a new person), machine, url, name, options
   * @returns {Promise<Result>}
   */
  async access(...args) {
    return this.#four('access', args);
  }

  /**
   * Removes `deleteUrl` from `person`'s URLs. Also `delete({person, machine, url, deleteUrl})`.
   * @param {...any} args person, machine, url, deleteUrl, options
   * @returns {Promise<Result>}
   */
  async delete(...args) {
    return this.#four('delete', args);
  }

  /**
   * The URLs of machine `for`, for a person who has accessed it. Also
   * `search({person, machine, url, for})`.
   * @param {...any} args person, machine, url, forMachine, options
   * @returns {Promise<Result>}
   */
  async search(...args) {
    return this.#four('search', args);
  }

  /**
   * `person` adopts the identity `to` (netdata's rules). Also `switch({person, machine, url, to})`.
   * @param {...any} args person, machine, url, to, options
   * @returns {Promise<Result>}
   */
  async switch(...args) {
    return this.#four('switch', args);
  }

  /** @param {ActionOptions} [options] */
  async hello(options) {
    const o = optionsObject('hello()', options, ACTION);
    return this.#one({ action: 'hello', when: o.when, quiet: o.quiet }, o);
  }

  /**
   * The registry's counters.
   * @param {CallOptions} [options]
   */
  async stats(options) {
    return this.#one({ action: 'stats' }, optionsObject('stats()', options, CALL));
  }

  /**
   * Purges persons idle longer than the configured days, as of `when`.
   * @param {CallOptions & {when?: number | Date}} [options]
   */
  async expire(options) {
    const o = optionsObject('expire()', options, ['when', ...CALL]);
    return this.#one({ action: 'expire', when: o.when }, o);
  }

  /**
   * The settings (netdata's `[registry]` keys and values).
   * @param {CallOptions} [options]
   */
  async config(options) {
    return this.#one({ action: 'config' }, optionsObject('config()', options, CALL));
  }

  /**
   * Changes settings from netdata.conf text: the keys of its `[registry]` section
   * (`key = value`, yes/no, durations), stored with the registry's files. Answers the settings
   * now in force, the lines not applied (keys regwasm does not use, unknown keys) under
   * `ignored`; a bad value of a key regwasm uses is refused (status 400) and changes nothing.
   * @param {string} conf
   * @param {CallOptions} [options]
   */
  async configure(conf, options) {
    string('configure: conf (netdata.conf text)', conf);
    return this.#one({ action: 'configure', conf }, optionsObject('configure()', options, CALL));
  }

  /**
   * Verifies every file; answers a report: `{healthy, snapshot, config, log}`.
   * @param {CallOptions} [options]
   */
  async check(options) {
    return this.#one({ action: 'check' }, optionsObject('check()', options, CALL));
  }

  /**
   * The machines with the most accesses, most first (`limit`: 1-100, default 10).
   * @param {CallOptions & {limit?: number}} [options]
   */
  async topMachines(options) {
    const o = optionsObject('topMachines()', options, ['limit', ...CALL]);
    if (o.limit !== undefined && (!Number.isInteger(o.limit) || /** @type {number} */ (o.limit) < 1 || /** @type {number} */ (o.limit) > 100)) {
      throw invalid(`topMachines: limit must be an integer 1 to 100, not ${describe(o.limit)}`);
    }
    return this.#one({ action: 'top', limit: o.limit === undefined ? '' : String(o.limit) }, o);
  }

  /**
   * Writes a snapshot and compacts the log; resolves once it is durable (with IndexedDB: after
   * its transaction committed).
   * @param {CallOptions} [options]
   */
  async save(options) {
    const o = callOptions('save', optionsObject('save()', options, CALL));
    return this.#guard('save', o, () => this.#backend.save());
  }

  /**
   * Storage status: files, current snapshot, last save, whether the storage is persistent.
   * @param {CallOptions} [options]
   */
  async status(options) {
    const o = callOptions('status', optionsObject('status()', options, CALL));
    return this.#guard('status', o, () => this.#backend.status());
  }

  /**
   * A backup in netdata's format: the text of a `registry.db` holding every person, machine
   * and URL (not the settings). `import()` restores it here or into another registry, and
   * netdata and `regwasm import` read it.
   * @param {CallOptions} [options]
   * @returns {Promise<Uint8Array>}
   */
  async export(options) {
    const o = callOptions('export', optionsObject('export()', options, CALL));
    return this.#guard('export', o, () => this.#backend.exportNetdata());
  }

  /**
   * Loads netdata's `registry.db` text (what `export()` gives, or netdata's own file) into this
   * registry, on top of what it holds, and saves. Answers the import's report (status 200) or
   * why it refused the data (status 400, nothing changed).
   * @param {Uint8Array | ArrayBuffer | string | Blob} data
   * @param {CallOptions} [options]
   * @returns {Promise<Result>}
   */
  async import(data, options) {
    const o = callOptions('import', optionsObject('import()', options, CALL));
    let bytes;
    if (typeof data === 'string') bytes = new TextEncoder().encode(data);
    else if (data instanceof Uint8Array) bytes = data.slice();
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data.slice(0));
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    else if (data !== null && typeof data === 'object' && typeof (/** @type {any} */ (data).arrayBuffer) === 'function') {
      bytes = new Uint8Array(await /** @type {Blob} */ (data).arrayBuffer()); // a Blob or File
    }
    else throw invalid(`import() takes netdata's registry.db as bytes, a string or a Blob, not ${describe(data)}`);
    const [r] = decodeResponse(await this.#guard('import', o, () => this.#backend.importNetdata(bytes)));
    const result = toResult(r);
    if (result.status === 200) this.#backend.changed?.();
    return result;
  }

  /** Finishes pending work and releases the registry (another tab may take it over). */
  close() {
    this.#closing ??= this.#backend.close().finally(() => this.#emit({ type: 'close', reason: 'closed' }));
    return this.#closing;
  }

  /**
   * Closes the registry and deletes its files (its directory when left empty, its IndexedDB
   * database). In a browser, the other tabs that have it open are closed too.
   */
  async destroy() {
    if (this.#closing) {
      await this.#closing;
      throw new RegistryError('closed', 'registry is closed: destroy() it before closing it');
    }
    this.#closing = this.#backend.destroy().finally(() => this.#emit({ type: 'close', reason: 'destroyed' }));
    return this.#closing;
  }
}

// `await using reg = await openRegistry()` where the runtime knows Symbol.asyncDispose.
if (typeof Symbol.asyncDispose === 'symbol') {
  Object.defineProperty(Registry.prototype, Symbol.asyncDispose, {
    value: function asyncDispose() {
      return /** @type {Registry} */ (this).close();
    },
    writable: true,
    configurable: true,
  });
}
