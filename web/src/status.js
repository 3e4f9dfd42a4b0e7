// The storage status every host reports (dashboards show it). What the module knows of its
// files (current snapshot, sequence numbers, last save) comes from its `stats` answer.
// Units: the times the hosts add are JS times, ms since the epoch; the module's own figures
// (`module.last_save`) are netdata's unix seconds.
import { decodeResponse, encodeRequest } from './codec.js';

/**
 * @typedef {object} SaveInfo
 * @property {string} file the snapshot file, e.g. "registry.db.2"
 * @property {number} seq sequence number of the last change it holds
 * @property {number} bytes its size
 * @property {number} at when it was written, ms since the epoch
 */

/**
 * @typedef {object} StorageStatus
 * @property {string} storage 'indexeddb', 'memory', or the directory
 * @property {{name: string, size: number}[]} files the registry's files
 * @property {string | null} snapshot the snapshot file the registry was loaded from or last
 *   saved to (null before the first save)
 * @property {Record<string, unknown> | null} module the module's own storage figures:
 *   `{mode, snapshot, generation, seq, saved_seq, last_save, log_records, log_bytes}`
 *   (last_save in unix seconds: the snapshot's own save time), and `save_error` when the last
 *   save failed
 * @property {SaveInfo | null} lastSave the last save: this session's, else the one the
 *   snapshot records (null when none is known)
 * @property {number | null} lastCommit ms since the epoch of the last committed change
 *   (IndexedDB), or null
 * @property {number} traps instances replaced after a trap
 * @property {boolean} persisted whether the storage survives: a directory yes, memory no,
 *   IndexedDB only once the browser granted persistent storage (navigator.storage.persist())
 * @property {'worker' | 'inline'} engine where the module runs: a worker thread (browsers:
 *   a Worker) or this thread
 * @property {boolean} [owner] browser: whether this tab owns the instance
 */

const STATS = encodeRequest([{ action: 'stats' }]);

/**
 * @param {import('./engine.js').Engine} engine
 * @param {{storage: string, files: {name: string, size: number}[], lastSave: SaveInfo | null, lastCommit: number | null, persisted: boolean, engine: 'worker' | 'inline'}} host
 * @returns {StorageStatus}
 */
export function storageStatus(engine, { storage, files, lastSave, lastCommit, persisted, engine: where }) {
  const [rec] = decodeResponse(engine.request(STATS));
  const info = rec && rec.body ? JSON.parse(rec.body).storage ?? null : null;
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const snapshot = typeof info?.snapshot === 'string' && info.snapshot !== '' ? info.snapshot : null;
  return {
    storage,
    files: sorted,
    snapshot,
    module: info,
    lastSave: lastSave ?? savedBefore(info, snapshot, sorted),
    lastCommit,
    traps: engine.traps,
    persisted,
    engine: where,
  };
}

/**
 * The save the loaded snapshot records (after a reopen: none of this session's).
 * @param {Record<string, any> | null} info
 * @param {string | null} snapshot
 * @param {{name: string, size: number}[]} files
 * @returns {SaveInfo | null}
 */
function savedBefore(info, snapshot, files) {
  const at = Number(info?.last_save);
  if (!snapshot || !(at > 0)) return null;
  return { file: snapshot, seq: Number(info?.saved_seq ?? 0), bytes: files.find((f) => f.name === snapshot)?.size ?? 0, at: at * 1000 };
}
