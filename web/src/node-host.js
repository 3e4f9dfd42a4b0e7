// The Node host's engine side: one registry.wasm instance over a directory (node:fs) or
// in-memory files, run in a worker thread (node-worker.js, the default) or in the caller's
// thread (engine: 'inline'). Requests of calls that wait together run as one module call: the
// module syncs its change log once per call (one fsync each with directory storage, the cost
// of a sequential call), so concurrent callers share it, as the Go server's group commit does.
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportNetdata, importNetdata, TEMP_FILE } from './backup.js';
import { splitResponse } from './codec.js';
import { deterministic as makeDeterministic } from './deterministic.js';
import { Engine } from './engine.js';
import { RegistryError } from './errors.js';
import { FsPreopen } from './fsdir.js';
import { FlatDirectory, preopenRoot, TrackedFile } from './memfs.js';
import { shimWasi } from './shim.js';
import { storageStatus } from './status.js';

/**
 * The registry's own files, which status() lists and destroy() removes. A lock file is never
 * removed: another process may hold a lock on it the moment ours is released.
 */
export const REGISTRY_FILE = /^registry\.(db\.\d+|log(\.\d+)?|conf\.\d+)$/;

/** At most this many calls' requests go into one module call. */
const MAX_GROUP = 1024;

/**
 * @typedef {object} HostOptions
 * @property {WebAssembly.Module} module
 * @property {string} storage 'memory' or an absolute directory path
 * @property {import('./deterministic.js').DeterministicOption} [deterministic]
 * @property {'worker' | 'inline'} engine
 * @typedef {{ok: true, value: Uint8Array} | {ok: false, error: unknown}} Outcome
 */

export class NodeHost {
  /** @type {Engine} */
  #engine;
  /** @type {import('./backup.js').FileIO} */
  #io;
  #options;
  /** @type {FlatDirectory | null} */
  #memory;
  /** @type {import('./status.js').SaveInfo | null} */
  #lastSave = null;

  /**
   * @param {Engine} engine
   * @param {HostOptions} options
   * @param {FlatDirectory | null} memory
   */
  constructor(engine, options, memory) {
    this.#engine = engine;
    this.#options = options;
    this.#memory = memory;
    const request = (/** @type {Uint8Array} */ b) => this.#engine.request(b);
    if (memory) {
      this.#io = {
        request,
        read: (name) => memory.snapshot().get(name)?.slice() ?? null,
        write: (name, bytes) => memory.contents.set(name, new TrackedFile(bytes)),
        remove: (name) => memory.contents.delete(name),
      };
    } else {
      const dir = options.storage;
      this.#io = {
        request,
        read: (name) => readFileSync(join(dir, name)),
        write: (name, bytes) => writeFileSync(join(dir, name), bytes, { mode: 0o600 }),
        remove: (name) => {
          try {
            unlinkSync(join(dir, name));
          } catch (err) {
            if (/** @type {any} */ (err)?.code !== 'ENOENT') throw err;
          }
        },
      };
    }
  }

  /** @param {HostOptions} options */
  static async create(options) {
    const det = makeDeterministic(options.deterministic);
    const memory = options.storage === 'memory' ? new FlatDirectory(new Map(), null) : null;
    const root = () => (memory ? preopenRoot(memory) : new FsPreopen(options.storage));
    const engine = await Engine.create({ module: options.module, makeWasi: () => shimWasi(root(), { deterministic: det }) });
    return new NodeHost(engine, options, memory);
  }

  /**
   * Runs the requests of several calls, in order, as few module calls as possible; a
   * malformed request (the module refuses its whole batch) fails alone.
   * @param {Uint8Array[]} requests
   * @param {number[]} counts actions in each request
   * @returns {Outcome[]}
   */
  requestMany(requests, counts) {
    /** @type {Outcome[]} */
    const out = [];
    for (let i = 0; i < requests.length; i += MAX_GROUP) {
      out.push(...this.#group(requests.slice(i, i + MAX_GROUP), counts.slice(i, i + MAX_GROUP)));
    }
    return out;
  }

  /**
   * @param {Uint8Array[]} requests
   * @param {number[]} counts
   * @returns {Outcome[]}
   */
  #group(requests, counts) {
    const one = (/** @type {Uint8Array} */ r) => {
      try {
        return /** @type {Outcome} */ ({ ok: true, value: this.#engine.request(r) });
      } catch (error) {
        return /** @type {Outcome} */ ({ ok: false, error });
      }
    };
    if (requests.length === 1) return [one(requests[0])];
    const all = new Uint8Array(requests.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of requests) {
      all.set(r, at);
      at += r.length;
    }
    try {
      return splitResponse(this.#engine.request(all), counts).map((value) => ({ ok: true, value }));
    } catch (error) {
      // Refused whole, nothing applied: run each alone so that only the bad one fails.
      if (error instanceof RegistryError && error.code === 'malformed') return requests.map(one);
      return requests.map(() => ({ ok: false, error }));
    }
  }

  save() {
    const r = this.#engine.save();
    this.#lastSave = { ...r, at: Date.now() };
    return r;
  }

  /** @returns {{name: string, size: number}[]} */
  #files() {
    if (this.#memory) return [...this.#memory.snapshot()].map(([name, data]) => ({ name, size: data.byteLength }));
    const dir = this.#options.storage;
    return readdirSync(dir)
      .filter((n) => REGISTRY_FILE.test(n))
      .map((name) => ({ name, size: statSync(join(dir, name)).size }));
  }

  status() {
    return storageStatus(this.#engine, {
      storage: this.#options.storage,
      files: this.#files(),
      lastSave: this.#lastSave,
      lastCommit: null,
      persisted: !this.#memory,
      engine: this.#options.engine,
    });
  }

  exportNetdata() {
    return exportNetdata(this.#io);
  }

  /** @param {Uint8Array} db */
  importNetdata(db) {
    return importNetdata(this.#io, db);
  }

  close() {
    this.#engine.close();
  }

  /** Closes and removes the registry's files (node.js removes the directory when left empty). */
  destroy() {
    this.#engine.close();
    if (this.#memory) return;
    const dir = this.#options.storage;
    for (const name of readdirSync(dir)) {
      if (REGISTRY_FILE.test(name) || TEMP_FILE.test(name)) unlinkSync(join(dir, name));
    }
  }
}
