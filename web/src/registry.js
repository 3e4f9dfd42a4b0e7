// The registry API every JS host returns: actions are encoded here, run by a backend (an
// in-process engine in Node, a Worker or another tab in browsers), and decoded back. No registry
// logic lives here: validation, cleaning and JSON shapes are the wasm module's.
import { decodeResponse, encodeRequest, toResult } from './codec.js';
import { RegistryError } from './errors.js';

/**
 * @typedef {object} Backend
 * @property {(bytes: Uint8Array) => Promise<Uint8Array>} request runs a request batch
 * @property {() => Promise<{file: string, seq: number, bytes: number}>} save
 * @property {() => Promise<import('./status.js').StorageStatus>} status
 * @property {() => Promise<void>} close
 */

/**
 * @typedef {{when?: number | Date, quiet?: boolean}} ActionOptions
 * @typedef {Record<string, any> & {status: number, person: string}} Result
 */

export class Registry {
  /** @type {Backend} */
  #backend;
  #name;
  #storage;
  /** @type {Promise<void> | null} */
  #closing = null;

  /**
   * Use `openRegistry()`; this wraps an open backend.
   * @param {Backend} backend
   * @param {{name: string, storage: string}} info
   */
  constructor(backend, { name, storage }) {
    this.#backend = backend;
    this.#name = name;
    this.#storage = storage;
  }

  get name() {
    return this.#name;
  }

  get storage() {
    return this.#storage;
  }

  /**
   * Runs several actions as one request: parsed completely before anything is applied, so a
   * malformed batch changes nothing. Each action is `{action, when?, quiet?, ...fields}` with the
   * fields of that action (see the methods).
   * @param {ReadonlyArray<{action: string, [field: string]: unknown}>} actions
   * @returns {Promise<Result[]>}
   */
  async batch(actions) {
    if (this.#closing) throw new RegistryError('closed', 'registry is closed');
    const bytes = encodeRequest(actions);
    const records = decodeResponse(await this.#backend.request(bytes));
    if (records.length !== actions.length) {
      throw new RegistryError('internal', `${actions.length} actions got ${records.length} responses`);
    }
    return records.map(toResult);
  }

  /**
   * @param {{action: string, [field: string]: unknown}} action
   * @returns {Promise<Result>}
   */
  async #one(action) {
    const [r] = await this.batch([action]);
    return r;
  }

  /**
   * Records that `person` reached `machine` through `url` (netdata's access).
   * @param {string} person the person GUID ('' or unknown: a new person)
   * @param {string} machine @param {string} url @param {string} name
   * @param {ActionOptions} [options]
   */
  access(person, machine, url, name, { when, quiet } = {}) {
    return this.#one({ action: 'access', person, machine, url, name, when, quiet });
  }

  /**
   * Removes `deleteUrl` from `person`'s URLs.
   * @param {string} person @param {string} machine @param {string} url @param {string} deleteUrl
   * @param {ActionOptions} [options]
   */
  delete(person, machine, url, deleteUrl, { when, quiet } = {}) {
    return this.#one({ action: 'delete', person, machine, url, deleteUrl, when, quiet });
  }

  /**
   * The URLs of machine `forMachine`, for a person who has accessed it.
   * @param {string} person @param {string} machine @param {string} url @param {string} forMachine
   * @param {ActionOptions} [options]
   */
  search(person, machine, url, forMachine, { when, quiet } = {}) {
    return this.#one({ action: 'search', person, machine, url, for: forMachine, when, quiet });
  }

  /**
   * `person` adopts the identity `to` (netdata's rules).
   * @param {string} person @param {string} machine @param {string} url @param {string} to
   * @param {ActionOptions} [options]
   */
  switch(person, machine, url, to, { when, quiet } = {}) {
    return this.#one({ action: 'switch', person, machine, url, to, when, quiet });
  }

  /** @param {ActionOptions} [options] */
  hello({ when, quiet } = {}) {
    return this.#one({ action: 'hello', when, quiet });
  }

  /** The registry's counters. */
  stats() {
    return this.#one({ action: 'stats' });
  }

  /**
   * Purges persons idle longer than the configured days, as of `when`.
   * @param {ActionOptions} [options]
   */
  expire({ when } = {}) {
    return this.#one({ action: 'expire', when });
  }

  /** The settings (netdata's `[registry]` keys and values). */
  config() {
    return this.#one({ action: 'config' });
  }

  /**
   * Changes settings from netdata.conf text: the keys of its `[registry]` section
   * (`key = value`, yes/no, durations), stored with the registry's files. Answers the settings
   * now in force, the lines not applied (keys regwasm does not use, unknown keys) under
   * `ignored`; a bad value of a key regwasm uses is refused (status 400) and changes nothing.
   * @param {string} conf
   */
  configure(conf) {
    return this.#one({ action: 'configure', conf });
  }

  /** Verifies every file; answers a report: `{healthy, snapshot, config, log}`. */
  check() {
    return this.#one({ action: 'check' });
  }

  /**
   * Writes a snapshot and compacts the log; resolves once it is durable (with IndexedDB: after
   * its transaction committed).
   */
  async save() {
    if (this.#closing) throw new RegistryError('closed', 'registry is closed');
    return this.#backend.save();
  }

  /** Storage status: files, current snapshot, last save. */
  async status() {
    if (this.#closing) throw new RegistryError('closed', 'registry is closed');
    return this.#backend.status();
  }

  /** Finishes pending work and releases the registry (another tab may take it over). */
  close() {
    this.#closing ??= this.#backend.close();
    return this.#closing;
  }
}
