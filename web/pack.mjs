// npm's prepack/postpack: `npm pack` (and publish) builds dist/ first, and ships web/README.md,
// the package's README for npm users, as the tarball's README. npm always packs the README at
// the package root, which is the repository's (Go-oriented) one: it is set aside for the
// pack and put back after. A pack that failed half-way is repaired by the next run.
//   node web/pack.mjs prepack | postpack
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readme = join(root, 'README.md');
const aside = join(root, '.README.repository.md');

function restore() {
  if (existsSync(aside)) renameSync(aside, readme);
}

const step = process.argv[2];
if (step === 'prepack') {
  restore();
  execFileSync(process.execPath, [join(root, 'web', 'build.mjs')], { stdio: 'inherit' });
  renameSync(readme, aside);
  copyFileSync(join(root, 'web', 'README.md'), readme);
} else if (step === 'postpack') {
  restore();
} else {
  console.error('usage: node web/pack.mjs prepack|postpack');
  process.exit(2);
}
