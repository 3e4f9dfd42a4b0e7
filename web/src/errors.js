// Errors every JS host reports, shaped so they survive postMessage/BroadcastChannel.

/** Negative return codes of `request`/`save`/`load` (wasm/ABI.md). */
export const CODES = Object.freeze({
  [-1]: 'malformed',
  [-2]: 'storage',
  [-3]: 'corrupt',
  [-4]: 'internal',
});

/**
 * @typedef {'malformed' | 'storage' | 'corrupt' | 'internal' | 'trap' | 'closed' | 'persist'
 *   | 'failed' | 'locked' | 'invalid' | 'aborted' | 'timeout'} ErrorCode
 */

/** Every code a RegistryError may carry. */
export const ERROR_CODES = Object.freeze(
  /** @type {ErrorCode[]} */ (['malformed', 'storage', 'corrupt', 'internal', 'trap', 'closed', 'persist', 'failed', 'locked', 'invalid', 'aborted', 'timeout']),
);

/**
 * An error of the registry module or its host.
 * `code` is one of: malformed, storage, corrupt, internal (the module's codes), trap (the
 * instance died and was replaced: the call's effects are those that reached the files),
 * closed, persist (the files could not be committed to IndexedDB), failed (no instance could
 * be started: a missing or broken registry.wasm or worker script), locked (another registry,
 * in any process of any host, holds the directory: the message names it), invalid (a wrong
 * argument: nothing was run), aborted (the call's AbortSignal fired), timeout (its `timeout`
 * passed). Errors at open carry what went wrong underneath as `cause`.
 */
export class RegistryError extends Error {
  /**
   * @param {ErrorCode} code
   * @param {string} message
   * @param {{cause?: unknown}} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.name = 'RegistryError';
    /** @type {ErrorCode} */
    this.code = code;
  }

  /** @returns {{code: ErrorCode, message: string}} */
  toJSON() {
    return { code: this.code, message: this.message };
  }

  /**
   * Re-creates an error sent between threads or tabs.
   * @param {unknown} e
   */
  static from(e) {
    if (e instanceof RegistryError) return e;
    if (e && typeof e === 'object' && 'code' in e && 'message' in e && ERROR_CODES.includes(/** @type {any} */ (e.code))) {
      return new RegistryError(/** @type {ErrorCode} */ (e.code), String(e.message));
    }
    return new RegistryError('internal', e instanceof Error ? e.message : String(e), { cause: e });
  }
}

/**
 * A RegistryError for a wrong argument.
 * @param {string} message
 */
export function invalid(message) {
  return new RegistryError('invalid', message);
}
