// The memory budget through the Node host: the WASI shim tells the module the engine's
// WebAssembly memory limit (wasm/ABI.md rule 8), the registry refuses new entries past its
// budget with 507 while known ones keep working, and what it holds loads again.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openRegistry } from '../../dist/node.js';
import { engineMemoryLimit } from '../../web/src/shim.js';
import { machine } from './helpers.mjs';

const tmp = await mkdtemp(join(tmpdir(), 'regwasm-budget-'));
after(() => rm(tmp, { recursive: true, force: true }));

test('the module learns the engine memory limit: stats answer the budget it derives', async () => {
  const limit = engineMemoryLimit();
  assert.ok(limit >= 1 << 30, `engine limit ${limit}`);
  const reg = await openRegistry({ storage: 'memory' });
  const stats = await reg.stats();
  // registry/budget.go: (limit - 16 MiB) / 3.5
  assert.equal(stats.budget, Math.floor((limit - 16 * 2 ** 20) / 3.5));
  await reg.close();
});

test('past "memory budget": new persons refused with 507, known ones served, all reloaded', async () => {
  const dir = join(tmp, 'full');
  const reg = await openRegistry({ storage: dir });
  await reg.configure('[registry]\nmemory budget = 200KiB\nlog sync = save\n');
  assert.equal((await reg.stats()).budget, 200 * 1024);
  const first = await reg.access('', machine(1), 'http://one.example/', 'one');
  assert.equal(first.status, 200);
  let refused;
  for (let round = 0; !refused && round < 100; round++) {
    const actions = Array.from({ length: 100 }, () => ({ action: 'access', machine: machine(1), url: 'http://one.example/', name: 'one', quiet: true }));
    refused = (await reg.batch(actions)).find((r) => r.status !== 200);
  }
  assert.ok(refused, 'never refused');
  assert.equal(refused.status, 507);
  assert.match(String(refused.error), /memory budget reached/);
  const known = await reg.access(first.person, machine(1), 'http://one.example/', 'one');
  assert.equal(known.status, 200);
  const want = await reg.stats();
  assert.ok(want.bytes <= want.budget, `tables ${want.bytes} over the budget ${want.budget}`);
  await reg.close();

  const again = await openRegistry({ storage: dir });
  const got = await again.stats();
  assert.equal(got.persons, want.persons);
  assert.equal(got.accesses, want.accesses);
  assert.equal((await again.access(first.person, machine(1), 'http://one.example/', 'one')).status, 200);
  assert.equal((await again.access('', machine(2), 'http://two.example/', 'two')).status, 507);
  await again.close();
});
