// The conformance runner inside a Chromium page: the browser host is the registry Worker
// (dist/worker.js, what openRegistry runs) driven through its client (web/src/worker-client.js)
// with the deterministic option, over IndexedDB or memory storage. Loaded by
// tests/web/conformance.test.mjs into tests/web/fixtures/page.html.
import { WorkerClient } from '/web/src/worker-client.js';
import { execute, pack, unpack } from '/tests/conformance/exec.mjs';

/**
 * Runs packed ops (exec.mjs) and returns the packed outcomes.
 * @param {unknown} packedOps
 * @param {'indexeddb' | 'memory'} storage
 * @param {string} tag names this run's databases (a fresh start gets a new one)
 */
export async function runInPage(packedOps, storage, tag) {
  /** @type {WorkerClient | null} */
  let client = null;
  let name = '';
  let starts = 0;
  const live = () => {
    if (!client) throw new Error('no registry open');
    return client;
  };
  const stop = async () => {
    if (!client) return;
    await client.call('close').catch(() => {});
    client.terminate();
    client = null;
  };
  /** @type {import('./exec.mjs').Host} */
  const host = {
    async open(seed, now, fresh) {
      const deterministic = { seed: BigInt(seed), now };
      if (client && !fresh && storage === 'memory') {
        // Memory files live in the worker: a new instance on them, as a restarted host.
        return client.call('reopen', undefined, undefined, { deterministic });
      }
      // IndexedDB: a new worker reads the committed files back.
      await stop();
      if (fresh || !name) name = `${tag}-${++starts}`;
      ({ client } = await WorkerClient.create({ name, storage, wasm: '/dist/registry.wasm', worker: '/dist/worker.js', deterministic }));
      return null; // the worker does not hand out its load answer; later stats steps check it
    },
    request: (bytes) => live().call('request', bytes),
    save: () => live().call('save'),
    load: () => live().call('load'),
    put: (file, bytes) => live().call('writeFile', bytes, undefined, { file }),
    get: (file) => live().call('readFile', undefined, undefined, { file }),
    close: stop,
  };
  return pack(await execute(host, unpack(packedOps)));
}
