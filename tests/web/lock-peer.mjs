// A Node process that opens registry directories on command: the Node side of the lock tests
// (host/lock_process_test.go drives it against Go processes, node.test.mjs against itself).
// Commands are JSON lines on stdin, answers JSON lines on stdout:
//   {"cmd":"open","id":"a","dir":"..."}    opens a registry (openRegistry) as handle a
//   {"cmd":"access","id":"a"}              one access; answers the person count
//   {"cmd":"lock","id":"a","dir":"...","at":ms}  takes only the directory's lock (lock.js), at
//                                          the wall-clock time `at` (a race's start)
//   {"cmd":"close","id":"a"}               closes a registry or releases a lock
//   {"cmd":"exit"}
// Answers: {"r":"ready","pid":N} first, then {"r":"opened"|"locked"|"ok"|"closed"} or
// {"r":"refused","code":...,"message":...} (the directory is held) or {"r":"error","message":...}.
// REGWASM_NODE_ENTRY picks the host module (default: web/src/node.js, the sources).
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WASM = join(ROOT, 'host', 'registry.wasm');
const entry = process.env.REGWASM_NODE_ENTRY ? resolve(process.env.REGWASM_NODE_ENTRY) : join(ROOT, 'web', 'src', 'node.js');
const { openRegistry } = await import(pathToFileURL(entry).href);

/** @type {Map<string, {close: () => Promise<void> | void, access?: () => Promise<number>}>} */
const handles = new Map();

/** @param {object} msg */
function say(msg) {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

/** @param {unknown} err */
function failure(err) {
  const e = /** @type {{code?: string, message?: string}} */ (err);
  if (e?.code === 'locked') return { r: 'refused', code: e.code, message: String(e.message) };
  return { r: 'error', code: e?.code ?? '', message: String(e?.message ?? err) };
}

/** @param {{cmd: string, id?: string, dir?: string, at?: number}} c */
async function run(c) {
  const id = c.id ?? '';
  switch (c.cmd) {
    case 'open': {
      const reg = await openRegistry({ storage: c.dir, wasm: WASM });
      handles.set(id, {
        close: () => reg.close(),
        access: async () => {
          await reg.access('', '11111111-1111-4111-8111-111111111111', `http://peer-${process.pid}/`, 'peer');
          return (await reg.stats()).persons;
        },
      });
      return { r: 'opened' };
    }
    case 'lock': {
      const { lockDirectory } = await import(pathToFileURL(join(ROOT, 'web', 'src', 'lock.js')).href);
      while (c.at && Date.now() < c.at) {
        // spin: the racers start within a few microseconds of each other
      }
      const lock = await lockDirectory(String(c.dir));
      handles.set(id, { close: () => lock.release() });
      return { r: 'locked' };
    }
    case 'access': {
      const h = handles.get(id);
      if (!h?.access) throw new Error(`no registry ${id}`);
      return { r: 'ok', persons: await h.access() };
    }
    case 'close': {
      const h = handles.get(id);
      handles.delete(id);
      await h?.close();
      return { r: 'closed' };
    }
    case 'exit':
      for (const h of handles.values()) await h.close();
      process.exit(0);
    // eslint-disable-next-line no-fallthrough
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

say({ r: 'ready', pid: process.pid });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    say(await run(JSON.parse(line)));
  } catch (err) {
    say(failure(err));
  }
}
