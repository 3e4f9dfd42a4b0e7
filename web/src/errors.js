// Errors every JS host reports, shaped so they survive postMessage/BroadcastChannel.

/** Negative return codes of `request`/`save`/`load` (wasm/ABI.md). */
export const CODES = Object.freeze({
  [-1]: 'malformed',
  [-2]: 'storage',
  [-3]: 'corrupt',
  [-4]: 'internal',
});

/**
 * An error of the registry module or its host.
 * `code` is one of: malformed, storage, corrupt, internal (the module's codes), trap (the
 * instance died and was replaced: the call's effects are those that reached the files),
 * closed, persist (the files could not be committed to IndexedDB), failed (no instance could
 * be started), locked (another registry, in any process of any host, holds the directory: the
 * message names it).
 */
export class RegistryError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{cause?: unknown}} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.name = 'RegistryError';
    /** @type {string} */
    this.code = code;
  }

  /** @returns {{code: string, message: string}} */
  toJSON() {
    return { code: this.code, message: this.message };
  }

  /**
   * Re-creates an error sent between threads or tabs.
   * @param {unknown} e
   */
  static from(e) {
    if (e instanceof RegistryError) return e;
    if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
      return new RegistryError(String(e.code), String(e.message));
    }
    return new RegistryError('internal', e instanceof Error ? e.message : String(e), { cause: e });
  }
}
