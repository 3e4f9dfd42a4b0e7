// Compiling registry.wasm in Node, from a path, a file: or http(s): URL, bytes or a module;
// compiled modules are cached per location (a 3 MB module takes about a second to compile).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RegistryError } from './errors.js';

/** @type {Map<string, Promise<WebAssembly.Module>>} compiled modules by file */
const compiled = new Map();

/**
 * The module from `wasm`; undefined means registry.wasm next to the bundle.
 * @param {string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module | undefined} wasm
 * @returns {Promise<WebAssembly.Module>}
 */
export async function compileWasm(wasm) {
  if (wasm instanceof WebAssembly.Module) return wasm;
  if (wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm)) return WebAssembly.compile(/** @type {any} */ (wasm));
  const url = wasm === undefined ? new URL('./registry.wasm', import.meta.url) : wasm;
  const key = String(url);
  let p = compiled.get(key);
  if (!p) {
    p = (async () => {
      const href = url instanceof URL ? url.href : url;
      if (/^https?:/.test(href)) {
        const res = await fetch(href);
        if (!res.ok) throw new RegistryError('failed', `fetch ${href}: ${res.status}`);
        return WebAssembly.compile(await res.arrayBuffer());
      }
      const path = href.startsWith('file:') ? fileURLToPath(href) : href;
      return WebAssembly.compile(readFileSync(path));
    })();
    compiled.set(key, p);
    p.catch(() => compiled.delete(key));
  }
  return p;
}

