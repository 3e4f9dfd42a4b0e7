// IndexedDB persistence of the registry's files, in the wa-sqlite IDBMirror style: everything is
// read into memory at open, the module then works on in-memory files synchronously, and the
// changes are written back in one readwrite transaction per commit (durability 'strict').
// Store `files`: name -> whole contents. Store `chunks`: [name, seq] -> bytes appended after
// the whole contents, so appending to the change log never rewrites it; chunks are coalesced
// into the whole record when the files are loaded. Store `replies`: the answers of calls
// forwarded by other tabs, written in the same transaction as their changes, so a tab that
// re-sends a call whose owner died after committing gets the answer instead of a second run.

/** @typedef {import('./memfs.js').Change} Change */

const FILES = 'files';
const CHUNKS = 'chunks';
const REPLIES = 'replies';
/** How long the answer of a forwarded call is kept (its tab re-sends within moments). */
const REPLY_TTL_MS = 10 * 60 * 1000;

/**
 * @template T
 * @param {IDBRequest<T>} req
 * @returns {Promise<T>}
 */
function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** @param {IDBTransaction} tx */
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(undefined);
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/** @param {string} name */
const chunksOf = (name) => IDBKeyRange.bound([name, -Infinity], [name, Infinity]);

export class IdbFiles {
  /** @type {IDBDatabase} */
  #db;
  #seq = 0;

  /** Tests: how many of the next commits fail (as a full quota would) without writing. */
  failNext = 0;

  /** @param {IDBDatabase} db */
  constructor(db) {
    this.#db = db;
  }

  /**
   * Opens (creating if needed) the database of registry `name` and reads every file.
   * @param {string} name
   * @returns {Promise<{store: IdbFiles, files: Map<string, Uint8Array>, replies: Map<string, unknown>}>}
   */
  static async open(name) {
    const req = indexedDB.open(`regwasm:${name}`, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(FILES)) db.createObjectStore(FILES);
      if (!db.objectStoreNames.contains(CHUNKS)) db.createObjectStore(CHUNKS);
      if (!db.objectStoreNames.contains(REPLIES)) db.createObjectStore(REPLIES);
    };
    const db = await done(req);
    // Another context upgrading or deleting the database must not wait on us forever.
    db.onversionchange = () => db.close();
    const store = new IdbFiles(db);
    return store.#load();
  }

  async #load() {
    const { files, replies, rewrite, forget } = await this.read();
    // Coalesce (one whole record per file, no chunks left) and drop stale answers.
    await this.commit(rewrite, { forget });
    return { store: this, files, replies };
  }

  /**
   * Reads every file (its chunks appended) and the answers of forwarded calls, as committed;
   * writes nothing. `rewrite` would coalesce the chunks, `forget` drop stale answers.
   * @returns {Promise<{files: Map<string, Uint8Array>, replies: Map<string, unknown>, rewrite: Change[], forget: string[]}>}
   */
  async read() {
    const tx = this.#db.transaction([FILES, CHUNKS, REPLIES], 'readonly');
    const files = tx.objectStore(FILES);
    const chunks = tx.objectStore(CHUNKS);
    const replyStore = tx.objectStore(REPLIES);
    const [names, datas, chunkKeys, chunkDatas, replyKeys, replyValues] = await Promise.all([
      done(files.getAllKeys()),
      done(files.getAll()),
      done(chunks.getAllKeys()),
      done(chunks.getAll()),
      done(replyStore.getAllKeys()),
      done(replyStore.getAll()),
    ]);
    /** @type {Map<string, Uint8Array>} */
    const out = new Map();
    names.forEach((n, i) => out.set(String(n), toBytes(datas[i])));
    /** @type {Map<string, unknown>} */
    const replies = new Map();
    /** @type {string[]} */
    const forget = [];
    const now = Date.now();
    replyKeys.forEach((k, i) => {
      const r = replyValues[i];
      if (r && now - r.at < REPLY_TTL_MS) replies.set(String(k), r.value);
      else forget.push(String(k));
    });

    // Chunk keys come sorted by [name, seq]: append each file's chunks in order.
    /** @type {Map<string, Uint8Array[]>} */
    const parts = new Map();
    chunkKeys.forEach((k, i) => {
      const [name, seq] = /** @type {[string, number]} */ (/** @type {unknown} */ (k));
      if (seq > this.#seq) this.#seq = seq;
      let list = parts.get(name);
      if (!list) parts.set(name, (list = []));
      list.push(toBytes(chunkDatas[i]));
    });
    /** @type {Change[]} */
    const rewrite = [];
    for (const [name, list] of parts) {
      const base = out.get(name) ?? new Uint8Array(0);
      const merged = new Uint8Array(list.reduce((n, c) => n + c.byteLength, base.byteLength));
      merged.set(base);
      let at = base.byteLength;
      for (const c of list) {
        merged.set(c, at);
        at += c.byteLength;
      }
      out.set(name, merged);
      rewrite.push({ kind: 'put', name, data: merged });
    }
    return { files: out, replies, rewrite, forget };
  }

  /**
   * Writes `changes` (and the answers of forwarded calls they belong to) in one readwrite
   * transaction; resolves once it committed.
   * @param {Change[]} changes
   * @param {{replies?: [string, unknown][], forget?: string[]}} [calls]
   */
  commit(changes, { replies = [], forget = [] } = {}) {
    if (changes.length === 0 && replies.length === 0 && forget.length === 0) return Promise.resolve();
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new DOMException('injected commit failure (tests)', 'QuotaExceededError'));
    }
    const tx = this.#db.transaction([FILES, CHUNKS, REPLIES], 'readwrite', { durability: 'strict' });
    const result = committed(tx);
    const files = tx.objectStore(FILES);
    const chunks = tx.objectStore(CHUNKS);
    const answers = tx.objectStore(REPLIES);
    const at = Date.now();
    for (const [key, value] of replies) answers.put({ at, value }, key);
    for (const key of forget) answers.delete(key);
    for (const c of changes) {
      if (c.kind === 'put') {
        files.put(c.data, c.name);
        chunks.delete(chunksOf(c.name));
      } else if (c.kind === 'append') {
        chunks.put(c.data, [c.name, ++this.#seq]);
      } else {
        files.delete(c.name);
        chunks.delete(chunksOf(c.name));
      }
    }
    return result;
  }

  close() {
    this.#db.close();
  }

  /**
   * Deletes the database of registry `name` (all its files).
   * @param {string} name
   */
  static async destroy(name) {
    await done(indexedDB.deleteDatabase(`regwasm:${name}`));
  }
}

/** @param {unknown} v */
function toBytes(v) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw new TypeError('IndexedDB: a file record is not bytes');
}
