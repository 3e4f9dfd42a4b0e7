// Argument checks shared by the hosts: a wrong argument is refused with one clear message
// (RegistryError 'invalid') before anything runs, rather than passing silently.
import { invalid } from './errors.js';

/** Registry names: they name a directory (Node) or an IndexedDB database (browsers). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** @param {unknown} v */
export function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
  return `${typeof v} ${String(v)}`;
}

/**
 * Checks that `options` is undefined or a plain object with only `allowed` keys.
 * @param {string} what e.g. "openRegistry()"
 * @param {unknown} options
 * @param {readonly string[]} allowed
 * @returns {Record<string, unknown>}
 */
export function optionsObject(what, options, allowed) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(`${what} takes an options object (${allowed.map((k) => k).join(', ')}), not ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!allowed.includes(k)) throw invalid(`${what}: unknown option ${JSON.stringify(k)} (known: ${allowed.join(', ')})`);
  }
  return /** @type {Record<string, unknown>} */ (options);
}

/**
 * The registry name, checked.
 * @param {unknown} name
 */
export function registryName(name) {
  if (name === undefined) return 'registry';
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalid(`name must be 1-100 letters, digits, '.', '_' or '-' starting with a letter or digit (it names a directory or a database), not ${describe(name)}`);
  }
  return name;
}

/**
 * @param {string} what
 * @param {unknown} v
 * @param {boolean} [optional]
 */
export function string(what, v, optional = false) {
  if (typeof v === 'string' || (optional && (v === undefined || v === null))) return /** @type {string | undefined} */ (v ?? undefined);
  throw invalid(`${what} must be a string, not ${describe(v)}`);
}
