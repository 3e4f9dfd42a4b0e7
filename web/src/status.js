// The storage status every host reports (dashboards show it). What the module knows of its
// files (current snapshot, sequence numbers, last save) comes from its `stats` answer.
import { decodeResponse, encodeRequest } from './codec.js';

/**
 * @typedef {object} StorageStatus
 * @property {string} storage 'indexeddb', 'memory', or the directory
 * @property {{name: string, size: number}[]} files the registry's files
 * @property {string | null} snapshot the snapshot file the registry was loaded from or last
 *   saved to (null before the first save)
 * @property {Record<string, unknown> | null} module the module's own storage figures:
 *   `{mode, snapshot, generation, seq, saved_seq, last_save, log_records, log_bytes}`, and `save_error`
 *   when the last save failed
 * @property {{file: string, seq: number, bytes: number, at: number} | null} lastSave this
 *   session's last save, `at` in ms since the epoch
 * @property {number | null} lastCommit ms since the epoch of the last committed change
 *   (IndexedDB), or null
 * @property {number} traps instances replaced after a trap
 * @property {boolean} [owner] browser: whether this tab owns the instance
 */

const STATS = encodeRequest([{ action: 'stats' }]);

/**
 * @param {import('./engine.js').Engine} engine
 * @param {{storage: string, files: {name: string, size: number}[], lastSave: StorageStatus['lastSave'], lastCommit: number | null}} host
 * @returns {StorageStatus}
 */
export function storageStatus(engine, { storage, files, lastSave, lastCommit }) {
  const [rec] = decodeResponse(engine.request(STATS));
  const info = rec && rec.body ? JSON.parse(rec.body).storage ?? null : null;
  return {
    storage,
    files: [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    snapshot: typeof info?.snapshot === 'string' && info.snapshot !== '' ? info.snapshot : null,
    module: info,
    lastSave,
    lastCommit,
    traps: engine.traps,
  };
}
