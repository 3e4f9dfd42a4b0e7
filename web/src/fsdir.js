// A real directory as the preopen "/" of browser_wasi_shim, through node:fs (synchronous
// calls, real fsync). Node's own node:wasi is not used: on Node 20 its fast-API fd_write can
// trigger a GC that destroys the WASI object in use and aborts the process (measured: a few
// tens of thousands of log appends), and it prints an ExperimentalWarning.
// The directory is flat: names with a '/' (after '.' parts) or '..' are refused, so the module
// cannot reach outside it.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Fd, wasi } from '@bjorn3/browser_wasi_shim';

const { O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC } = fs.constants;

/** @type {Record<string, number>} */
const ERRNO = {
  ENOENT: wasi.ERRNO_NOENT,
  EEXIST: wasi.ERRNO_EXIST,
  EACCES: wasi.ERRNO_ACCES,
  EPERM: wasi.ERRNO_PERM,
  ENOSPC: wasi.ERRNO_NOSPC,
  EDQUOT: wasi.ERRNO_DQUOT,
  EISDIR: wasi.ERRNO_ISDIR,
  ENOTDIR: wasi.ERRNO_NOTDIR,
  ENOTEMPTY: wasi.ERRNO_NOTEMPTY,
  EBADF: wasi.ERRNO_BADF,
  EINVAL: wasi.ERRNO_INVAL,
  EROFS: wasi.ERRNO_ROFS,
  EMFILE: wasi.ERRNO_MFILE,
  ENFILE: wasi.ERRNO_NFILE,
  EFBIG: wasi.ERRNO_FBIG,
  EIO: wasi.ERRNO_IO,
};

/** @param {unknown} err */
function errno(err) {
  const code = /** @type {{code?: string}} */ (err)?.code;
  return (code && ERRNO[code]) || wasi.ERRNO_IO;
}

/**
 * The single name `path` denotes inside the flat directory, '.' for the directory itself, or
 * null when it would leave it or name a subdirectory.
 * @param {string} path
 */
function flatName(path) {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) return '.';
  if (parts.length !== 1 || parts[0] === '..' || path.startsWith('/')) return null;
  return parts[0];
}

/** @param {fs.BigIntStats} st */
function filestat(st) {
  const type = st.isDirectory() ? wasi.FILETYPE_DIRECTORY : st.isFile() ? wasi.FILETYPE_REGULAR_FILE : wasi.FILETYPE_UNKNOWN;
  // Times stay 0: the shim's Filestat writes them at overlapping offsets (over `size`).
  const out = new wasi.Filestat(st.ino, type, st.size);
  out.nlink = st.nlink;
  return out;
}

/** An open regular file. */
class FsOpenFile extends Fd {
  #fd;
  #append;
  #pos = 0;

  /**
   * @param {number} fd
   * @param {boolean} append
   */
  constructor(fd, append) {
    super();
    this.#fd = fd;
    this.#append = append;
  }

  fd_fdstat_get() {
    const st = new wasi.Fdstat(wasi.FILETYPE_REGULAR_FILE, this.#append ? wasi.FDFLAGS_APPEND : 0);
    st.fs_rights_base = 0xffffffffn;
    return { ret: 0, fdstat: st };
  }

  fd_filestat_get() {
    try {
      return { ret: 0, filestat: filestat(fs.fstatSync(this.#fd, { bigint: true })) };
    } catch (err) {
      return { ret: errno(err), filestat: /** @type {any} */ (null) };
    }
  }

  /** @param {bigint} size */
  fd_filestat_set_size(size) {
    try {
      fs.ftruncateSync(this.#fd, Number(size));
      return 0;
    } catch (err) {
      return errno(err);
    }
  }

  /**
   * @param {bigint} offset
   * @param {bigint} len
   */
  fd_allocate(offset, len) {
    try {
      const end = Number(offset + len);
      if (fs.fstatSync(this.#fd).size < end) fs.ftruncateSync(this.#fd, end);
      return 0;
    } catch (err) {
      return errno(err);
    }
  }

  /**
   * @param {number} size
   * @param {number} at
   */
  #read(size, at) {
    const buf = new Uint8Array(size);
    let n = 0;
    while (n < size) {
      const got = fs.readSync(this.#fd, buf, n, size - n, at + n);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n);
  }

  /** @param {number} size */
  fd_read(size) {
    try {
      const data = this.#read(size, this.#pos);
      this.#pos += data.length;
      return { ret: 0, data };
    } catch (err) {
      return { ret: errno(err), data: new Uint8Array(0) };
    }
  }

  /**
   * @param {number} size
   * @param {bigint} offset
   */
  fd_pread(size, offset) {
    try {
      return { ret: 0, data: this.#read(size, Number(offset)) };
    } catch (err) {
      return { ret: errno(err), data: new Uint8Array(0) };
    }
  }

  /**
   * @param {Uint8Array} data
   * @param {number | null} at null: the end (O_APPEND)
   */
  #write(data, at) {
    let n = 0;
    while (n < data.length) n += fs.writeSync(this.#fd, data, n, data.length - n, at === null ? null : at + n);
    return n;
  }

  /** @param {Uint8Array} data */
  fd_write(data) {
    try {
      const n = this.#write(data, this.#append ? null : this.#pos);
      this.#pos = this.#append ? fs.fstatSync(this.#fd).size : this.#pos + n;
      return { ret: 0, nwritten: n };
    } catch (err) {
      return { ret: errno(err), nwritten: 0 };
    }
  }

  /**
   * @param {Uint8Array} data
   * @param {bigint} offset
   */
  fd_pwrite(data, offset) {
    try {
      return { ret: 0, nwritten: this.#write(data, Number(offset)) };
    } catch (err) {
      return { ret: errno(err), nwritten: 0 };
    }
  }

  /**
   * @param {bigint} offset
   * @param {number} whence
   */
  fd_seek(offset, whence) {
    let base;
    try {
      base = whence === wasi.WHENCE_SET ? 0 : whence === wasi.WHENCE_CUR ? this.#pos : whence === wasi.WHENCE_END ? fs.fstatSync(this.#fd).size : NaN;
    } catch (err) {
      return { ret: errno(err), offset: 0n };
    }
    const to = base + Number(offset);
    if (!(to >= 0)) return { ret: wasi.ERRNO_INVAL, offset: 0n };
    this.#pos = to;
    return { ret: 0, offset: BigInt(to) };
  }

  fd_tell() {
    return { ret: 0, offset: BigInt(this.#pos) };
  }

  fd_sync() {
    try {
      fs.fsyncSync(this.#fd);
      return 0;
    } catch (err) {
      return errno(err);
    }
  }

  fd_filestat_set_times() {
    return 0;
  }

  fd_close() {
    try {
      fs.closeSync(this.#fd);
      return 0;
    } catch (err) {
      return errno(err);
    }
  }
}

/** The directory, opened (the preopen, or "." opened again for readdir/sync). */
class FsDirFd extends Fd {
  /** @type {string} */
  #path;
  /** @type {{name: string, ino: bigint, type: number}[] | null} */
  #listing = null;

  /** @param {string} path */
  constructor(path) {
    super();
    this.#path = path;
  }

  get path() {
    return this.#path;
  }

  fd_fdstat_get() {
    const st = new wasi.Fdstat(wasi.FILETYPE_DIRECTORY, 0);
    st.fs_rights_base = 0xffffffffn;
    st.fs_rights_inherited = 0xffffffffn;
    return { ret: 0, fdstat: st };
  }

  fd_filestat_get() {
    try {
      return { ret: 0, filestat: filestat(fs.statSync(this.#path, { bigint: true })) };
    } catch (err) {
      return { ret: errno(err), filestat: /** @type {any} */ (null) };
    }
  }

  fd_sync() {
    let fd = -1;
    try {
      fd = fs.openSync(this.#path, O_RDONLY);
      fs.fsyncSync(fd);
      return 0;
    } catch (err) {
      return errno(err);
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }

  /** @param {bigint} cookie */
  fd_readdir_single(cookie) {
    try {
      if (cookie === 0n || this.#listing === null) {
        const self = fs.statSync(this.#path, { bigint: true });
        this.#listing = [
          { name: '.', ino: self.ino, type: wasi.FILETYPE_DIRECTORY },
          { name: '..', ino: self.ino, type: wasi.FILETYPE_DIRECTORY },
        ];
        for (const d of fs.readdirSync(this.#path, { withFileTypes: true })) {
          const st = fs.lstatSync(join(this.#path, d.name), { bigint: true });
          this.#listing.push({ name: d.name, ino: st.ino, type: filestat(st).filetype });
        }
      }
    } catch (err) {
      return { ret: errno(err), dirent: null };
    }
    const e = this.#listing[Number(cookie)];
    if (!e) return { ret: 0, dirent: null };
    return { ret: 0, dirent: new wasi.Dirent(cookie + 1n, e.ino, e.name, e.type) };
  }

  /**
   * @param {number} flags
   * @param {string} path
   */
  path_filestat_get(flags, path) {
    const name = flatName(path);
    if (name === null) return { ret: wasi.ERRNO_NOTCAPABLE, filestat: null };
    try {
      // The directory itself through stat: its path may be a symlink (to a directory).
      const st = name === '.' ? fs.statSync(this.#path, { bigint: true }) : fs.lstatSync(join(this.#path, name), { bigint: true });
      return { ret: 0, filestat: filestat(st) };
    } catch (err) {
      return { ret: errno(err), filestat: null };
    }
  }

  /**
   * @param {number} _dirflags
   * @param {string} path
   * @param {number} oflags
   * @param {bigint} rights
   * @param {bigint} _inheriting
   * @param {number} fdflags
   */
  path_open(_dirflags, path, oflags, rights, _inheriting, fdflags) {
    const name = flatName(path);
    if (name === null) return { ret: wasi.ERRNO_NOTCAPABLE, fd_obj: null };
    if (name === '.') {
      if (oflags & (wasi.OFLAGS_CREAT | wasi.OFLAGS_TRUNC)) return { ret: wasi.ERRNO_ISDIR, fd_obj: null };
      return { ret: 0, fd_obj: new FsDirFd(this.#path) };
    }
    const full = join(this.#path, name);
    try {
      if (oflags & wasi.OFLAGS_DIRECTORY) {
        return { ret: fs.statSync(full).isDirectory() ? wasi.ERRNO_NOTCAPABLE : wasi.ERRNO_NOTDIR, fd_obj: null };
      }
      const writes = (rights & BigInt(wasi.RIGHTS_FD_WRITE | wasi.RIGHTS_FD_FILESTAT_SET_SIZE | wasi.RIGHTS_FD_ALLOCATE)) !== 0n;
      const append = (fdflags & wasi.FDFLAGS_APPEND) !== 0;
      let flags = writes || oflags & (wasi.OFLAGS_CREAT | wasi.OFLAGS_TRUNC) ? O_RDWR : O_RDONLY;
      if (oflags & wasi.OFLAGS_CREAT) flags |= O_CREAT;
      if (oflags & wasi.OFLAGS_EXCL) flags |= O_EXCL;
      if (oflags & wasi.OFLAGS_TRUNC) flags |= O_TRUNC;
      if (append) flags |= O_APPEND;
      const fd = fs.openSync(full, flags, 0o644);
      if (fs.fstatSync(fd).isDirectory()) {
        fs.closeSync(fd);
        return { ret: wasi.ERRNO_ISDIR, fd_obj: null };
      }
      return { ret: 0, fd_obj: new FsOpenFile(fd, append) };
    } catch (err) {
      return { ret: errno(err), fd_obj: null };
    }
  }

  /** @param {string} path */
  path_unlink_file(path) {
    const name = flatName(path);
    if (name === null || name === '.') return wasi.ERRNO_NOTCAPABLE;
    try {
      fs.unlinkSync(join(this.#path, name));
      return 0;
    } catch (err) {
      return errno(err);
    }
  }

  /** @param {string} path */
  path_remove_directory(path) {
    return flatName(path) === null ? wasi.ERRNO_NOTCAPABLE : wasi.ERRNO_PERM;
  }

  /** @param {string} path */
  path_create_directory(path) {
    return flatName(path) === null ? wasi.ERRNO_NOTCAPABLE : wasi.ERRNO_PERM;
  }

  // The shim renames as path_unlink(old) + path_link(new, inode) (and path_link(old, inode) to
  // undo): here the "inode" is the old name, and linking it under a new name is rename(2).
  /** @param {string} path */
  path_unlink(path) {
    const name = flatName(path);
    if (name === null || name === '.') return { ret: wasi.ERRNO_NOTCAPABLE, inode_obj: null };
    if (!fs.existsSync(join(this.#path, name))) return { ret: wasi.ERRNO_NOENT, inode_obj: null };
    return { ret: 0, inode_obj: /** @type {any} */ ({ renameFrom: join(this.#path, name) }) };
  }

  /**
   * @param {string} path
   * @param {any} inode
   */
  path_link(path, inode) {
    const name = flatName(path);
    if (name === null || name === '.' || !inode?.renameFrom) return wasi.ERRNO_NOTCAPABLE;
    try {
      fs.renameSync(inode.renameFrom, join(this.#path, name));
      return 0;
    } catch (err) {
      return errno(err);
    }
  }
}

/** The preopen "/" over the real directory `path`. */
export class FsPreopen extends FsDirFd {
  fd_prestat_get() {
    return { ret: 0, prestat: wasi.Prestat.dir('/') };
  }
}
