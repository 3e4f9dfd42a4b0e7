// The Node host's worker thread (dist/node-worker.js): it owns the registry instance, so that
// the module's work (a batch, a save, a load) never blocks the caller's event loop. Messages
// that queued while a call ran are taken together: their requests share one module call.
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { RegistryError } from './errors.js';
import { NodeHost } from './node-host.js';

/**
 * @typedef {{id: number, bytes: Uint8Array, count: number}} RequestCall
 * @typedef {{id: 0, method: 'request', calls: RequestCall[]}
 *   | {id: number, method: 'save' | 'status' | 'export' | 'close' | 'destroy'}
 *   | {id: number, method: 'import', bytes: Uint8Array}} CallMessage
 * @typedef {{code: string, message: string, cause?: {name: string, message: string, code?: string}}} WireError
 */

/** @type {import('node:worker_threads').MessagePort} */
const port = workerData.port;

/**
 * @param {unknown} err
 * @returns {WireError}
 */
export function wireError(err) {
  const e = RegistryError.from(err);
  const c = /** @type {any} */ (e.cause ?? (err instanceof RegistryError ? undefined : err));
  return { ...e.toJSON(), cause: c instanceof Error ? { name: c.name, message: c.message, code: /** @type {any} */ (c).code } : undefined };
}

/**
 * @param {number} id
 * @param {unknown} value
 */
function reply(id, value) {
  const transfer = value instanceof Uint8Array ? [value.buffer] : [];
  port.postMessage({ id, ok: true, value }, /** @type {any} */ (transfer));
}

/**
 * @param {NodeHost} host
 * @param {CallMessage} m
 */
function run(host, m) {
  switch (m.method) {
    case 'save':
      return host.save();
    case 'status':
      return host.status();
    case 'export':
      return host.exportNetdata();
    case 'import':
      return host.importNetdata(m.bytes);
    case 'close':
      return host.close();
    case 'destroy':
      return host.destroy();
  }
  throw new RegistryError('internal', `unknown method ${m.method}`);
}

/**
 * @param {NodeHost} host
 * @param {CallMessage[]} msgs in arrival order
 */
function handle(host, msgs) {
  for (let i = 0; i < msgs.length; ) {
    const m = msgs[i];
    if (m.method === 'request') {
      /** @type {RequestCall[]} */
      const group = [];
      for (; i < msgs.length && msgs[i].method === 'request'; i++) group.push(.../** @type {any} */ (msgs[i]).calls);
      const out = host.requestMany(group.map((g) => g.bytes), group.map((g) => g.count));
      /** @type {ArrayBuffer[]} */
      const transfer = [];
      const replies = out.map((o, k) => {
        if (!o.ok) return { id: group[k].id, ok: false, error: wireError(o.error) };
        transfer.push(/** @type {ArrayBuffer} */ (o.value.buffer));
        return { id: group[k].id, ok: true, value: o.value };
      });
      port.postMessage({ replies }, transfer);
      continue;
    }
    i++;
    try {
      reply(m.id, run(host, m));
    } catch (err) {
      port.postMessage({ id: m.id, ok: false, error: wireError(err) });
    }
    if (m.method === 'close' || m.method === 'destroy') {
      port.close();
      return;
    }
  }
}

try {
  const host = await NodeHost.create({ ...workerData.options, engine: 'worker' });
  port.on('message', (/** @type {CallMessage} */ first) => {
    const msgs = [first];
    for (let m; (m = receiveMessageOnPort(port)); ) msgs.push(m.message);
    handle(host, msgs);
  });
  port.postMessage({ id: 0, ok: true });
} catch (err) {
  port.postMessage({ id: 0, ok: false, error: wireError(err) });
  port.close();
}
