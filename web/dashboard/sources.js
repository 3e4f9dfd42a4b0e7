// The dashboard's data sources, one small interface for both:
// - LocalSource: the registry runs in this browser (regwasm's Worker over IndexedDB);
// - HttpSource: `regwasm serve` runs it, reached through netdata's /api/v1/registry, plus the
//   operator's /api/v1/registry/overview when the server offers it.
// Each answers hello/access/delete/switch/stats/status with the registry's JSON results.
import { openRegistry } from 'regwasm';

/**
 * @typedef {Record<string, any> & {status: number}} Result
 * @typedef {object} Source
 * @property {'local' | 'http'} kind
 * @property {string} label
 * @property {() => string} person the current person GUID ('' when none yet)
 * @property {(guid: string) => void} setPerson
 * @property {() => Promise<Result>} hello
 * @property {(machine: string, url: string, name: string) => Promise<Result>} access
 * @property {(machine: string, url: string, deleteUrl: string) => Promise<Result>} delete
 * @property {(machine: string, url: string, to: string) => Promise<Result>} switch
 * @property {() => Promise<Result | null>} stats
 * @property {() => Promise<Record<string, any> | null>} status
 * @property {(check?: boolean) => Promise<Record<string, any> | null>} overview the operator's
 *   view of `regwasm serve` (null when not offered)
 * @property {(fn: (what: string) => void) => void} onEvent another tab's change, a failure
 */

const PERSON_KEY = 'regwasm.dashboard.person';

/** @implements {Source} */
export class LocalSource {
  kind = /** @type {const} */ ('local');
  /** @type {import('regwasm').Registry} */
  #reg;
  #person = localStorage.getItem(PERSON_KEY) ?? '';

  /** @param {import('regwasm').Registry} reg */
  constructor(reg) {
    this.#reg = reg;
  }

  /** @param {{name?: string, storage?: 'indexeddb' | 'memory'}} options */
  static async create({ name = 'dashboard', storage = 'indexeddb' } = {}) {
    return new LocalSource(await openRegistry({ name, storage }));
  }

  get label() {
    return `this browser (${this.#reg.storage}, registry "${this.#reg.name}")`;
  }

  get registry() {
    return this.#reg;
  }

  person() {
    return this.#person;
  }

  /** @param {string} guid */
  setPerson(guid) {
    this.#person = guid;
    if (guid) localStorage.setItem(PERSON_KEY, guid);
    else localStorage.removeItem(PERSON_KEY);
  }

  hello() {
    return this.#reg.hello();
  }

  /** @param {string} machine @param {string} url @param {string} name */
  async access(machine, url, name) {
    const r = await this.#reg.access(this.#person, machine, url, name);
    if (r.status === 200 && r.person) this.setPerson(r.person);
    return r;
  }

  /** @param {string} machine @param {string} url @param {string} deleteUrl */
  delete(machine, url, deleteUrl) {
    return this.#reg.delete(this.#person, machine, url, deleteUrl);
  }

  /** @param {string} machine @param {string} url @param {string} to */
  async switch(machine, url, to) {
    const r = await this.#reg.switch(this.#person, machine, url, to);
    if (r.status === 200 && r.person) this.setPerson(r.person);
    return r;
  }

  stats() {
    return this.#reg.stats();
  }

  status() {
    return this.#reg.status();
  }

  async overview() {
    return null;
  }

  /** @param {(what: string) => void} fn */
  onEvent(fn) {
    this.#reg.on('change', () => fn('change'));
    this.#reg.on('reset', (ev) => fn(`reset: ${ev.reason}`));
    this.#reg.on('failed', (ev) => fn(`failed: ${ev.error.message}`));
  }

  save = () => this.#reg.save();

  /** netdata's registry.db text of the registry. */
  exportBackup = () => this.#reg.export();

  /** @param {Blob} file */
  importBackup = (file) => this.#reg.import(file);

  /** Asks the browser not to evict the registry's IndexedDB data. */
  persist = async () => (await globalThis.navigator?.storage?.persist?.()) === true;
}

/** @implements {Source} */
export class HttpSource {
  kind = /** @type {const} */ ('http');
  #base;
  #person = '';
  /** @type {boolean | null} whether the server offers the overview (null: not asked yet) */
  #hasOverview = null;

  /** @param {string} base URL of the registry API */
  constructor(base) {
    this.#base = base;
  }

  /**
   * An HttpSource if `base` answers netdata's hello, else null.
   * @param {string} [base]
   */
  static async probe(base = new URL('/api/v1/registry', location.href).href) {
    try {
      const src = new HttpSource(base);
      const r = await src.hello();
      return r.action === 'hello' ? src : null;
    } catch {
      return null;
    }
  }

  get label() {
    return `server ${new URL(this.#base).host} (/api/v1/registry)`;
  }

  person() {
    return this.#person;
  }

  /** @param {string} guid */
  setPerson(guid) {
    this.#person = guid;
  }

  /** @param {Record<string, string>} params */
  async #get(params) {
    const url = new URL(this.#base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const res = await fetch(url, { credentials: 'include', headers: { accept: 'application/json' } });
    const text = await res.text();
    /** @type {Result} */
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${params.action}: HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
    if (typeof body.status === 'string') body.statusText = body.status;
    body.status = res.status;
    if (body.person_guid && res.ok) this.#person = body.person_guid;
    return body;
  }

  hello() {
    return this.#get({ action: 'hello' });
  }

  /**
   * netdata's flow: a server that verifies cookie support answers a first access without
   * identity with status "redirect" and a dummy cookie; asking again (the cookie now sent)
   * records the access. Two retries are enough: a browser that still sends no cookie
   * refuses cookies, and the last answer says so.
   * @param {string} machine @param {string} url @param {string} name
   */
  async access(machine, url, name) {
    let r = await this.#get({ action: 'access', machine, url, name });
    for (let retry = 0; retry < 2 && r.statusText === 'redirect'; retry++) {
      r = await this.#get({ action: 'access', machine, url, name });
    }
    return r;
  }

  /** @param {string} machine @param {string} url @param {string} deleteUrl */
  delete(machine, url, deleteUrl) {
    return this.#get({ action: 'delete', machine, url, delete_url: deleteUrl });
  }

  /** @param {string} machine @param {string} url @param {string} to */
  switch(machine, url, to) {
    return this.#get({ action: 'switch', machine, url, to });
  }

  async stats() {
    const r = await this.#get({ action: 'stats' }).catch(() => null);
    return r && r.status === 200 ? r : null;
  }

  async status() {
    return null;
  }

  /**
   * The server's overview (`regwasm serve`): null when it has none (another server).
   * @param {boolean} [check] also verify every file (reads them all)
   */
  async overview(check = false) {
    if (this.#hasOverview === false) return null;
    const url = new URL(`${this.#base}/overview`);
    if (check) url.searchParams.set('check', '1');
    const res = await fetch(url, { credentials: 'include', headers: { accept: 'application/json' } });
    if (res.status >= 400 && res.status < 500) {
      // Not `regwasm serve` (netdata answers 400), or not for this address: ask no more.
      this.#hasOverview = false;
      return null;
    }
    const text = await res.text();
    if (!res.ok) throw new Error(`overview: HTTP ${res.status}: ${text.slice(0, 200)}`);
    this.#hasOverview = true;
    return JSON.parse(text);
  }

  /** @param {(what: string) => void} _fn */
  onEvent(_fn) {}

  save = null;
  exportBackup = null;
  importBackup = null;
  persist = null;
}

/**
 * Picks the source: `?source=local|http` (and `&storage=memory`, `&name=`), else the server's
 * API when this page is served by `regwasm serve`, else the registry in this browser.
 * @param {URLSearchParams} params
 * @returns {Promise<LocalSource | HttpSource>}
 */
export async function chooseSource(params) {
  const want = params.get('source');
  const local = () =>
    LocalSource.create({
      name: params.get('name') ?? 'dashboard',
      storage: params.get('storage') === 'memory' ? 'memory' : 'indexeddb',
    });
  if (want === 'local') return local();
  const http = await HttpSource.probe(params.get('api') ?? undefined);
  if (http) return http;
  if (want === 'http') throw new Error('no registry API answered at /api/v1/registry');
  return local();
}
