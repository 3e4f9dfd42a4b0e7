// Shared pieces of the web tests: paths, a static file server on 127.0.0.1, Chromium.
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');
export const OUT = join(ROOT, 'tests', 'out');
export const WASM = join(DIST, 'registry.wasm');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
};

/**
 * Serves `root` on 127.0.0.1 (a free port). `api`, when given, answers requests whose path
 * starts with /api/ first.
 * @param {string} root
 * @param {{api?: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void}} [options]
 */
export async function serve(root, { api } = {}) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (api && url.pathname.startsWith('/api/')) return api(req, res);
    let path = normalize(join(root, decodeURIComponent(url.pathname)));
    if (!path.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (statSync(path).isDirectory()) path = join(path, 'index.html');
      const st = statSync(path);
      res.writeHead(200, {
        'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
        'content-length': st.size,
        'cache-control': 'no-store',
      });
      createReadStream(path).pipe(res);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        server.close(() => r(undefined));
        server.closeAllConnections(); // the browser keeps connections alive
      }),
  };
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Debian's Chromium with a fresh profile (its IndexedDB lives there). Close with `close()`.
 */
export async function launch() {
  const profile = await mkdtemp(join(tmpdir(), 'regwasm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    /** A new tab; page errors and console errors are collected in `errors`. */
    async page() {
      const page = await context.newPage();
      /** @type {string[]} */
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      return Object.assign(page, { errors });
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A machine GUID for test number `i`. */
export const machine = (/** @type {number} */ i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** `n` quiet accesses by new persons, over `machines` machines, starting at `from`. */
export function accesses(n, { from = 0, machines = 1000, when } = /** @type {{from?: number, machines?: number, when?: number}} */ ({})) {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { action: 'access', person: '', machine: machine(i % machines), url: `http://${i % machines}.netdata.rocks/`, name: `m${i % machines}`, quiet: true, when };
  });
}
