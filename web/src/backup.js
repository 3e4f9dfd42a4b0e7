// Backup and restore in netdata's format, on any host: the module's `export` writes
// netdata's registry.db text to a file in its directory and `import` reads one; the host
// moves the bytes in or out under a temporary name and removes the file after.
import { decodeResponse, encodeRequest } from './codec.js';
import { RegistryError } from './errors.js';

/**
 * @typedef {object} FileIO what the host offers over the registry's directory
 * @property {(bytes: Uint8Array) => Uint8Array} request runs a request batch
 * @property {(name: string) => Uint8Array | null} read
 * @property {(name: string, bytes: Uint8Array) => void} write
 * @property {(name: string) => void} remove removes the file if it exists
 */

/** Temporary files of export and import: plain names of the module's alphabet. */
export const TEMP_FILE = /^(export|import)-[0-9a-f]{16}\.tmp$/;

/** @param {'export' | 'import'} what */
function tempName(what) {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return `${what}-${[...b].map((x) => x.toString(16).padStart(2, '0')).join('')}.tmp`;
}

/**
 * netdata's registry.db text of the registry.
 * @param {FileIO} io
 * @returns {Uint8Array}
 */
export function exportNetdata(io) {
  const file = tempName('export');
  try {
    const [r] = decodeResponse(io.request(encodeRequest([{ action: 'export', file }])));
    if (r?.status !== 200) {
      let why = r?.body ?? '';
      try {
        why = JSON.parse(why).error ?? why;
      } catch {
        // the body as is
      }
      throw new RegistryError('storage', `export failed (status ${r?.status}): ${why}`);
    }
    const data = io.read(file);
    if (!data) throw new RegistryError('internal', `export answered 200 but wrote no ${file}`);
    return data;
  } finally {
    io.remove(file);
  }
}

/**
 * Imports netdata's registry.db text; returns the import's response batch.
 * @param {FileIO} io
 * @param {Uint8Array} db
 * @returns {Uint8Array}
 */
export function importNetdata(io, db) {
  const file = tempName('import');
  io.write(file, db);
  try {
    return io.request(encodeRequest([{ action: 'import', db: file }]));
  } finally {
    io.remove(file);
  }
}
