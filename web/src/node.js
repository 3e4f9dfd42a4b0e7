// The Node host: registry.wasm in-process, WASI from browser_wasi_shim as in browsers. A
// directory is mounted through node:fs (real files, real fsync: the module's crash safety holds
// as on any host; see fsdir.js for why not node:wasi); 'memory' uses the in-memory files.
// Calls are synchronous inside, async outside.
import { mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { deterministic as makeDeterministic } from './deterministic.js';
import { Engine } from './engine.js';
import { RegistryError } from './errors.js';
import { FsPreopen } from './fsdir.js';
import { lockDirectory } from './lock.js';
import { FlatDirectory, preopenRoot } from './memfs.js';
import { Registry } from './registry.js';
import { shimWasi } from './shim.js';
import { storageStatus } from './status.js';
import { compileWasm } from './wasm-node.js';

export { Registry } from './registry.js';
export { RegistryError } from './errors.js';

/**
 * @typedef {object} NodeOpenOptions
 * @property {string} [name] registry name; the default directory is `./<name>` ('registry')
 * @property {string} [storage] 'memory' or a directory (created if missing)
 * @property {string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module} [wasm]
 *   where registry.wasm comes from (default: next to this file)
 * @property {import('./deterministic.js').DeterministicOption} [deterministic] tests only:
 *   new GUIDs from a seeded stream and a fixed realtime clock (see deterministic.js)
 */

/**
 * Opens a registry in this process.
 * @param {NodeOpenOptions} [options]
 * @returns {Promise<Registry>}
 */
export async function openRegistry({ name = 'registry', storage, wasm, deterministic } = {}) {
  if (storage === 'indexeddb') throw new RegistryError('failed', "storage 'indexeddb' is for browsers: in Node use 'memory' or a directory");
  const det = makeDeterministic(deterministic);
  const module = await compileWasm(wasm);
  const where = storage ?? resolve(name);
  const backend = where === 'memory' ? memoryBackend(module, det) : dirBackend(module, resolve(where), det);
  return new Registry(await backend, { name, storage: where === 'memory' ? 'memory' : resolve(where) });
}

/**
 * @param {Engine} engine
 * @param {string} storage
 * @param {() => {name: string, size: number}[]} files
 * @param {() => void} onClose
 * @returns {import('./registry.js').Backend}
 */
function engineBackend(engine, storage, files, onClose) {
  /** @type {{file: string, seq: number, bytes: number, at: number} | null} */
  let lastSave = null;
  let closed = false;
  const live = () => {
    if (closed) throw new RegistryError('closed', 'registry is closed');
    return engine;
  };
  return {
    request: async (bytes) => live().request(bytes),
    save: async () => {
      const r = live().save();
      lastSave = { ...r, at: Date.now() };
      return r;
    },
    status: async () => storageStatus(live(), { storage, files: files(), lastSave, lastCommit: null }),
    close: async () => {
      if (closed) return;
      closed = true;
      engine.close();
      onClose();
    },
  };
}

/**
 * @param {WebAssembly.Module} module
 * @param {import('./deterministic.js').Deterministic} [det]
 */
async function memoryBackend(module, det) {
  const dir = new FlatDirectory(new Map(), null);
  const engine = await Engine.create({ module, makeWasi: () => shimWasi(preopenRoot(dir), { deterministic: det }) });
  const files = () => [...dir.snapshot()].map(([name, data]) => ({ name, size: data.byteLength }));
  return engineBackend(engine, 'memory', files, () => {});
}

/**
 * @param {WebAssembly.Module} module
 * @param {string} dir
 * @param {import('./deterministic.js').Deterministic} [det]
 */
async function dirBackend(module, dir, det) {
  mkdirSync(dir, { recursive: true });
  // The directory lock of every host (lock.js), on the real directory: a symlinked one is
  // mounted as its target.
  const real = realpathSync(dir);
  const lock = await lockDirectory(real);
  const makeWasi = () => shimWasi(new FsPreopen(real), { deterministic: det });
  let engine;
  try {
    engine = await Engine.create({ module, makeWasi });
  } catch (err) {
    lock.release();
    throw err;
  }
  const files = () =>
    readdirSync(dir)
      .filter((n) => /^registry\.(db\.[123]|log|log\.[123]|conf\.[123])$/.test(n))
      .sort()
      .map((name) => ({ name, size: statSync(resolve(dir, name)).size }));
  return engineBackend(engine, dir, files, () => lock.release());
}
