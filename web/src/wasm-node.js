// Compiling registry.wasm in Node, from a path, a file: or http(s): URL, bytes or a module;
// compiled modules are cached per location (a 3 MB module takes about a second to compile).
// Every failure is a RegistryError 'failed' that names the source, with the cause attached.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { RegistryError } from './errors.js';
import { describe } from './validate.js';

/** @type {Map<string, Promise<WebAssembly.Module>>} compiled modules by file */
const compiled = new Map();

/**
 * @param {string} what where the bytes came from
 * @param {BufferSource} bytes
 */
async function compile(what, bytes) {
  try {
    return await WebAssembly.compile(bytes);
  } catch (err) {
    throw new RegistryError('failed', `${what} is not a usable WebAssembly module (${err instanceof Error ? err.message : err})`, { cause: err });
  }
}

/**
 * The module from `wasm`; undefined means registry.wasm next to the bundle.
 * @param {string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module | undefined} wasm
 * @returns {Promise<WebAssembly.Module>}
 */
export async function compileWasm(wasm) {
  if (wasm instanceof WebAssembly.Module) return wasm;
  if (wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm)) return compile('the wasm bytes given', /** @type {BufferSource} */ (wasm));
  if (wasm !== undefined && typeof wasm !== 'string' && !(wasm instanceof URL)) {
    throw new RegistryError('invalid', `wasm must be a path, a URL, bytes or a WebAssembly.Module, not ${describe(wasm)}`);
  }
  const url = wasm === undefined ? new URL('./registry.wasm', import.meta.url) : wasm;
  const key = String(url);
  let p = compiled.get(key);
  if (!p) {
    p = (async () => {
      const href = url instanceof URL ? url.href : url;
      if (/^https?:/.test(href)) {
        let res;
        try {
          res = await fetch(href);
        } catch (err) {
          throw new RegistryError('failed', `cannot fetch registry.wasm from ${href}: ${err instanceof Error ? err.message : err}`, { cause: err });
        }
        if (!res.ok) throw new RegistryError('failed', `cannot fetch registry.wasm from ${href}: HTTP ${res.status}`);
        return compile(href, await res.arrayBuffer());
      }
      const path = href.startsWith('file:') ? fileURLToPath(href) : href;
      let bytes;
      try {
        bytes = await readFile(path);
      } catch (err) {
        throw new RegistryError('failed', `cannot read registry.wasm at ${path}: ${err instanceof Error ? err.message : err}`, { cause: err });
      }
      return compile(path, bytes);
    })();
    compiled.set(key, p);
    p.catch(() => compiled.delete(key));
  }
  return p;
}
