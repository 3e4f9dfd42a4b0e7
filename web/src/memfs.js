// In-memory files for browser_wasi_shim with change tracking: a flat preopened directory whose
// files grow by doubling (the shim's own File copies the whole file on every append) and report
// every write, truncation, creation and unlink to a ChangeTracker. IndexedDB persistence
// commits what the tracker collected; memory storage has no tracker.
import { Directory, Inode, OpenFile, PreopenDirectory, wasi } from '@bjorn3/browser_wasi_shim';

/**
 * @typedef {{kind: 'put', name: string, data: Uint8Array}
 *   | {kind: 'append', name: string, data: Uint8Array}
 *   | {kind: 'delete', name: string}} Change
 * A change to commit: `put` replaces the whole file (and drops its appended chunks), `append`
 * adds bytes after what is already stored, `delete` removes the file and its chunks.
 */

/** Collects which files changed since the last `take()`, and how. */
export class ChangeTracker {
  /** @type {Map<string, number>} stored length of every file the store holds */
  #stored = new Map();
  /** @type {Map<string, 'whole' | 'append' | 'deleted'>} */
  #dirty = new Map();
  /** @type {FlatDirectory | null} */
  #dir = null;

  /**
   * @param {Map<string, Uint8Array>} stored the files as the store holds them
   */
  constructor(stored) {
    for (const [name, data] of stored) this.#stored.set(name, data.byteLength);
  }

  /** @param {FlatDirectory} dir */
  attach(dir) {
    this.#dir = dir;
  }

  get dirty() {
    return this.#dirty.size > 0;
  }

  /** @param {string} name */
  created(name) {
    this.#dirty.set(name, 'whole');
  }

  /** @param {string} name */
  deleted(name) {
    this.#dirty.set(name, 'deleted');
  }

  /**
   * Bytes [offset, end) of `name` changed.
   * @param {string} name
   * @param {number} offset
   */
  wrote(name, offset) {
    const d = this.#dirty.get(name);
    if (d === 'whole') return;
    const stored = this.#stored.get(name);
    if (stored === undefined || offset < stored) this.#dirty.set(name, 'whole');
    else this.#dirty.set(name, 'append');
  }

  /**
   * `name` was cut or extended to `size` bytes.
   * @param {string} name
   * @param {number} size
   */
  resized(name, size) {
    const stored = this.#stored.get(name);
    if (stored !== undefined && size >= stored) this.wrote(name, stored);
    else this.#dirty.set(name, 'whole');
  }

  /**
   * The changes since the last take, with the bytes copied, in a stable order (puts and
   * appends before deletes would not matter: one transaction applies them all or none).
   * @returns {Change[]}
   */
  take() {
    /** @type {Change[]} */
    const out = [];
    const files = this.#dir?.contents;
    for (const [name, d] of this.#dirty) {
      const file = files?.get(name);
      if (d === 'deleted' || !(file instanceof TrackedFile)) {
        out.push({ kind: 'delete', name });
        this.#stored.delete(name);
        continue;
      }
      const data = file.data;
      const stored = this.#stored.get(name);
      if (d === 'whole' || stored === undefined || data.byteLength < stored) {
        out.push({ kind: 'put', name, data: data.slice() });
      } else if (data.byteLength > stored) {
        out.push({ kind: 'append', name, data: data.slice(stored) });
      }
      this.#stored.set(name, data.byteLength);
    }
    this.#dirty.clear();
    return out;
  }
}

/** A regular file held in a growable buffer; reports its changes to the directory's tracker. */
export class TrackedFile extends Inode {
  #buf;
  #len;
  /** @type {string | null} the name it is linked under in a tracked directory */
  name = null;
  /** @type {ChangeTracker | null} */
  tracker = null;

  /** @param {Uint8Array} [data] */
  constructor(data) {
    super();
    this.#buf = data ?? new Uint8Array(0);
    this.#len = this.#buf.byteLength;
  }

  /** The contents (a view: valid until the next change). */
  get data() {
    return this.#buf.subarray(0, this.#len);
  }

  get size() {
    return BigInt(this.#len);
  }

  get readonly() {
    return false;
  }

  stat() {
    return new wasi.Filestat(this.ino, wasi.FILETYPE_REGULAR_FILE, this.size);
  }

  /**
   * Grows the buffer geometrically: the change log grows by small appends to hundreds of MB
   * between saves, and a fixed step would copy it quadratically often (a 64 MiB step made a
   * 2.8 GB log cost ~60 GB of copying). x1.5 bounds the copying to ~3x the final size and the
   * slack to half of it.
   * @param {number} n
   */
  #ensure(n) {
    if (n <= this.#buf.byteLength) return;
    const next = new Uint8Array(Math.max(n, Math.ceil(this.#buf.byteLength * 1.5), 4096));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /**
   * @param {number} offset
   * @param {Uint8Array} bytes
   */
  write(offset, bytes) {
    const end = offset + bytes.byteLength;
    this.#ensure(end);
    if (offset > this.#len) this.#buf.fill(0, this.#len, offset);
    this.#buf.set(bytes, offset);
    if (end > this.#len) this.#len = end;
    if (this.name !== null) this.tracker?.wrote(this.name, offset);
  }

  /** @param {number} size */
  resize(size) {
    if (size === this.#len) return;
    if (size > this.#len) {
      this.#ensure(size);
      this.#buf.fill(0, this.#len, size);
    }
    this.#len = size;
    if (this.name !== null) this.tracker?.resized(this.name, size);
  }

  /**
   * @param {number} oflags
   * @param {bigint} _rights
   * @param {number} fdflags
   */
  path_open(oflags, _rights, fdflags) {
    if (oflags & wasi.OFLAGS_TRUNC) this.resize(0);
    return { ret: wasi.ERRNO_SUCCESS, fd_obj: new TrackedOpenFile(this, fdflags) };
  }
}

/** An open TrackedFile: reads come from the shim's OpenFile, writes go through the file. */
class TrackedOpenFile extends OpenFile {
  #append;

  /**
   * @param {TrackedFile} file
   * @param {number} fdflags
   */
  constructor(file, fdflags) {
    super(/** @type {any} */ (file));
    this.#append = (fdflags & wasi.FDFLAGS_APPEND) !== 0;
    if (this.#append) this.file_pos = file.size;
  }

  get #file() {
    return /** @type {TrackedFile} */ (/** @type {unknown} */ (this.file));
  }

  fd_fdstat_get() {
    const st = new wasi.Fdstat(wasi.FILETYPE_REGULAR_FILE, this.#append ? wasi.FDFLAGS_APPEND : 0);
    st.fs_rights_base = 0xffffffffn;
    return { ret: 0, fdstat: st };
  }

  /** @param {Uint8Array} data */
  fd_write(data) {
    if (this.#append) this.file_pos = this.#file.size;
    this.#file.write(Number(this.file_pos), data);
    this.file_pos += BigInt(data.byteLength);
    return { ret: 0, nwritten: data.byteLength };
  }

  /**
   * @param {Uint8Array} data
   * @param {bigint} offset
   */
  fd_pwrite(data, offset) {
    this.#file.write(Number(offset), data);
    return { ret: 0, nwritten: data.byteLength };
  }

  /** @param {bigint} size */
  fd_filestat_set_size(size) {
    this.#file.resize(Number(size));
    return wasi.ERRNO_SUCCESS;
  }

  /**
   * @param {bigint} offset
   * @param {bigint} len
   */
  fd_allocate(offset, len) {
    const end = Number(offset + len);
    if (end > this.#file.data.byteLength) this.#file.resize(end);
    return wasi.ERRNO_SUCCESS;
  }
}

/** The contents map of the flat directory: links and unlinks are reported to the tracker. */
class TrackedContents extends Map {
  /** @type {ChangeTracker | null} */
  tracker = null;

  /**
   * @param {string} name
   * @param {any} inode
   */
  set(name, inode) {
    const old = super.get(name);
    if (old instanceof TrackedFile && old !== inode) old.name = null;
    if (inode instanceof TrackedFile) {
      inode.name = name;
      inode.tracker = this.tracker;
    }
    super.set(name, inode);
    this.tracker?.created(name);
    return this;
  }

  /** @param {string} name */
  delete(name) {
    const old = super.get(name);
    if (!super.delete(name)) return false;
    if (old instanceof TrackedFile && old.name === name) old.name = null;
    this.tracker?.deleted(name);
    return true;
  }
}

/** A directory that holds only TrackedFiles (no subdirectories). */
export class FlatDirectory extends Directory {
  /**
   * @param {Map<string, Uint8Array>} files initial contents
   * @param {ChangeTracker | null} tracker
   */
  constructor(files, tracker) {
    const contents = new TrackedContents();
    for (const [name, data] of files) contents.set(name, new TrackedFile(data));
    contents.tracker = tracker;
    for (const f of contents.values()) f.tracker = tracker;
    super(contents);
    tracker?.attach(this);
  }

  /**
   * @param {string} pathStr
   * @param {boolean} isDir
   */
  create_entry_for_path(pathStr, isDir) {
    if (isDir) return { ret: wasi.ERRNO_PERM, entry: null };
    const name = pathStr.split('/').filter((p) => p !== '' && p !== '.');
    if (name.length !== 1 || name[0] === '..') return { ret: wasi.ERRNO_NOTCAPABLE, entry: null };
    if (this.contents.has(name[0])) return { ret: wasi.ERRNO_EXIST, entry: null };
    const file = new TrackedFile();
    this.contents.set(name[0], file);
    return { ret: wasi.ERRNO_SUCCESS, entry: file };
  }

  /** @returns {Map<string, Uint8Array>} name -> contents (views) */
  snapshot() {
    /** @type {Map<string, Uint8Array>} */
    const out = new Map();
    for (const [name, f] of this.contents) if (f instanceof TrackedFile) out.set(name, f.data);
    return out;
  }
}

/**
 * The preopen "/" over a flat directory.
 * @param {FlatDirectory} dir
 */
export function preopenRoot(dir) {
  const pre = new PreopenDirectory('/', new Map());
  pre.dir = dir;
  return pre;
}
