// netdata's cross-site cookie over HTTPS in Chromium: a dashboard on one site
// (https://agent.test) uses `regwasm serve --tls-cert --tls-key` on another
// (https://registry.test), as netdata's dashboards use a public registry. The cookie is
// SameSite=None; Secure, which browsers keep only over HTTPS: the same flow over plain HTTP
// never gets past the cookie check.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, machine, OUT, ROOT } from './helpers.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'regwasm-tls-'));
const bin = join(OUT, 'regwasm-tls-test');

before(() => {
  mkdirSync(OUT, { recursive: true });
  execFileSync('go', ['build', '-o', bin, './host/cmd/regwasm'], { cwd: ROOT, stdio: 'inherit' });
  // A self-signed certificate for both sites, made with crypto/x509.
  execFileSync('go', ['run', './tests/tlscert', '-dir', tmp, '-hosts', 'registry.test,agent.test,127.0.0.1'], { cwd: ROOT, stdio: 'inherit' });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Starts `regwasm serve` on a free loopback port, with TLS unless `plain`.
 * @param {boolean} plain
 */
async function regwasmServe(plain) {
  const dir = mkdtempSync(join(tmp, 'data-'));
  const args = ['serve', '--dir', dir, '--addr', '127.0.0.1:0', '--save-every', '0'];
  if (!plain) args.push('--tls-cert', join(tmp, 'cert.pem'), '--tls-key', join(tmp, 'key.pem'));
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (/** @type {Buffer} */ b) => {
      out += b;
      const m = /listening on https?:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`regwasm serve exited ${code}: ${out}`)));
  });
  return {
    port: /** @type {number} */ (port),
    close: () => new Promise((r) => {
      child.on('exit', r);
      child.kill('SIGTERM');
    }),
  };
}

/** The agent's page: the test drives its fetches. */
const PAGE = '<!doctype html><title>agent</title><p>an agent dashboard</p>';

/**
 * Serves the agent's page on a free loopback port, over HTTPS unless `plain`.
 * @param {boolean} plain
 */
async function agentSite(plain) {
  /** @type {import('node:http').RequestListener} */
  const handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  const server = plain
    ? createHttpServer(handler)
    : createHttpsServer({ cert: readFileSync(join(tmp, 'cert.pem')), key: readFileSync(join(tmp, 'key.pem')) }, handler);
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    port,
    close: () => new Promise((r) => {
      server.close(() => r(undefined));
      server.closeAllConnections();
    }),
  };
}

/**
 * Chromium resolving registry.test and agent.test to the loopback, ignoring the test
 * certificate's issuer, with third-party cookies allowed.
 *
 * The profile's cookie_controls_mode 0 allows them: netdata's registry cookie is a
 * third-party cookie on the agent's page, and a browser that blocks those (this headless
 * Chromium does by default) never sends it back, over HTTPS or not.
 */
async function launchSites() {
  const profile = mkdtempSync(join(tmp, 'chromium-'));
  mkdirSync(join(profile, 'Default'));
  writeFileSync(join(profile, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }));
  return chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    ignoreHTTPSErrors: true,
    args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP registry.test 127.0.0.1, MAP agent.test 127.0.0.1'],
  });
}

/**
 * Three accesses from the agent's page to the registry, with credentials, as netdata's
 * dashboard makes them; returns their bodies.
 * @param {import('playwright-core').Page} page @param {string} registry
 */
function threeAccesses(page, registry) {
  return page.evaluate(async ({ registry, machine }) => {
    const q = new URLSearchParams({ action: 'access', machine, url: location.origin + '/', name: 'agent' });
    const out = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${registry}/api/v1/registry?${q}`, { credentials: 'include', cache: 'no-store' });
      out.push(await r.json());
    }
    return out;
  }, { registry, machine: machine(1) });
}

test('over HTTPS the cross-site cookie is kept: the check passes and the person stays the same', async () => {
  const registry = await regwasmServe(false);
  const agent = await agentSite(false);
  const context = await launchSites();
  try {
    const page = await context.newPage();
    await page.goto(`https://agent.test:${agent.port}/`);
    const [first, second, third] = await threeAccesses(page, `https://registry.test:${registry.port}`);
    assert.equal(first.status, 'redirect', 'a first access without identity checks the cookie');
    assert.equal(second.status, 'ok', `the test cookie came back: ${JSON.stringify(second)}`);
    assert.match(second.person_guid, /^[0-9a-f-]{36}$/);
    assert.notEqual(second.person_guid, first.person_guid);
    assert.equal(third.person_guid, second.person_guid, 'the new person cookie came back');
    assert.equal(third.urls.length, 1);
    const cookie = (await context.cookies(`https://registry.test:${registry.port}/api/v1/registry`)).find((c) => c.name === 'netdata_registry_id');
    assert.equal(cookie?.value, second.person_guid);
    assert.equal(cookie?.sameSite, 'None');
    assert.equal(cookie?.secure, true);
  } finally {
    await context.close();
    await agent.close();
    await registry.close();
  }
});

test('over plain HTTP the same flow never keeps the cookie', async () => {
  const registry = await regwasmServe(true);
  const agent = await agentSite(true);
  const context = await launchSites();
  try {
    const page = await context.newPage();
    await page.goto(`http://agent.test:${agent.port}/`);
    const answers = await threeAccesses(page, `http://registry.test:${registry.port}`);
    assert.deepEqual(answers.map((a) => a.status), ['redirect', 'redirect', 'redirect']);
    assert.deepEqual(await context.cookies(`http://registry.test:${registry.port}/api/v1/registry`), []);
  } finally {
    await context.close();
    await agent.close();
    await registry.close();
  }
});
