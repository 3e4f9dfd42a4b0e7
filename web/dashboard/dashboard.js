// The dashboard page: a person's machines, an access/switch form, statistics with a chart over
// time, and storage status, over either data source (see sources.js).
import { chooseSource } from './sources.js';
import { renderChart } from './chart.js';

/** @typedef {import('./sources.js').LocalSource | import('./sources.js').HttpSource} Source */

const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (document.querySelector(sel));
const SAMPLES = 120;

/** @param {string} text @param {boolean} [error] */
function say(text, error = false) {
  const m = $('#message');
  m.textContent = text;
  m.className = error ? 'error' : '';
}

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 */
function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** @param {number} ms */
function when(ms) {
  if (!ms) return '—';
  const d = new Date(ms);
  const ago = Math.round((Date.now() - ms) / 1000);
  const rel = ago < 60 ? `${Math.max(ago, 0)} s ago` : ago < 3600 ? `${Math.round(ago / 60)} min ago` : ago < 86400 ? `${Math.round(ago / 3600)} h ago` : `${Math.round(ago / 86400)} d ago`;
  return `${d.toLocaleString()} (${rel})`;
}

/** @param {Record<string, any>} s storage status */
function lastSave(s) {
  if (s.lastSave) return `${when(s.lastSave.at)}: ${s.lastSave.file}, ${Number(s.lastSave.bytes).toLocaleString()} bytes`;
  const m = s.module;
  if (m?.last_save) return `${when(m.last_save * 1000)} (change ${m.saved_seq}; ${m.log_records} logged since)`;
  return 'never';
}

function randomGuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

class Dashboard {
  /** @type {Source} */
  #src;
  /** the dashboard's own identity as an agent (netdata's dashboard does hello, then access) */
  #self = { machine: '', url: '', name: '' };
  /** @type {any[]} */
  #urls = [];
  /** @type {number[][]} [t, persons, machines, urls, accesses, person_urls] */
  #history = [];
  #historyKey;

  /** @param {Source} src */
  constructor(src) {
    this.#src = src;
    this.#historyKey = `regwasm.dashboard.stats.${src.kind}`;
    try {
      this.#history = JSON.parse(localStorage.getItem(this.#historyKey) ?? '[]');
    } catch {
      this.#history = [];
    }
  }

  async start() {
    $('#source').textContent = `data: ${this.#src.label}`;
    const hello = await this.#src.hello();
    if (this.#src.kind === 'http') {
      this.#self = { machine: hello.machine_guid, url: `${location.origin}/`, name: hello.hostname || location.host };
    } else {
      let machine = localStorage.getItem('regwasm.dashboard.machine');
      if (!machine) localStorage.setItem('regwasm.dashboard.machine', (machine = randomGuid()));
      this.#self = { machine, url: `${location.origin}${location.pathname}`, name: 'regwasm dashboard' };
    }
    this.#wire();
    await this.#visit();
    await this.#refreshStats();
    setInterval(() => this.#refreshStats().catch((e) => say(String(e), true)), 10_000);
    document.body.dataset.ready = 'true';
  }

  #wire() {
    const access = /** @type {HTMLFormElement} */ ($('#access-form'));
    access.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = new FormData(access);
      this.#act(async () => {
        const r = await this.#src.access(String(f.get('machine')), String(f.get('url')), String(f.get('name') ?? ''));
        this.#show(r, 'access recorded');
        if (r.status === 200) access.reset();
      });
    });
    const sw = /** @type {HTMLFormElement} */ ($('#switch-form'));
    sw.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const to = String(new FormData(sw).get('to')).trim();
      this.#act(async () => {
        const r = await this.#src.switch(this.#self.machine, this.#self.url, to);
        if (r.status !== 200) return this.#show(r, '');
        this.#src.setPerson(to);
        await this.#visit();
        say(`switched to ${to}`);
      });
    });
    const save = $('#save');
    if (this.#src.save) {
      save.hidden = false;
      save.addEventListener('click', () =>
        this.#act(async () => {
          const r = await /** @type {() => Promise<any>} */ (this.#src.save)();
          say(`saved ${r.file} (${r.bytes} bytes)`);
        }),
      );
    }
  }

  /** @param {() => Promise<void>} fn */
  #act(fn) {
    fn()
      .then(() => this.#refreshStats())
      .catch((e) => say(e instanceof Error ? e.message : String(e), true));
  }

  /** Records this dashboard's own access (netdata's flow) and shows the person's machines. */
  async #visit() {
    const r = await this.#src.access(this.#self.machine, this.#self.url, this.#self.name);
    this.#show(r, '');
  }

  /**
   * @param {Record<string, any>} r
   * @param {string} ok message on success
   */
  #show(r, ok) {
    if (r.status !== 200) {
      say(`${r.action ?? 'request'} failed (${r.status}): ${r.error ?? r.statusText ?? ''}`, true);
      return;
    }
    if (ok) say(ok);
    if (Array.isArray(r.urls)) {
      this.#urls = r.urls;
      this.#renderMachines();
    }
    $('#person').textContent = this.#src.person() || '—';
  }

  #renderMachines() {
    const tbody = /** @type {HTMLElement} */ ($('#machines tbody'));
    const rows = [...this.#urls].sort((a, b) => b[2] - a[2]);
    tbody.replaceChildren(
      ...rows.map((u) => {
        const [machine, url, last, usages, name, flags] = u;
        const expired = typeof flags === 'number' && (flags & 1) !== 0;
        const del = el('button', { type: 'button', 'data-url': url }, ['delete']);
        del.addEventListener('click', () =>
          this.#act(async () => {
            const r = await this.#src.delete(this.#self.machine, this.#self.url, url);
            if (r.status !== 200) return this.#show(r, '');
            this.#urls = this.#urls.filter((x) => x[1] !== url);
            this.#renderMachines();
            say(`deleted ${url}`);
          }),
        );
        const link = /^https?:\/\//.test(url) ? el('a', { href: url, rel: 'noopener' }, [url]) : url;
        return el('tr', { 'data-machine': machine, 'data-url': url, 'data-last': String(last) }, [
          el('td', {}, [link]),
          el('td', {}, [name]),
          el('td', { title: new Date(last).toISOString() }, [when(last)]),
          el('td', { class: 'num' }, [String(usages)]),
          el('td', expired ? { class: 'expired' } : {}, [expired ? 'expired' : '']),
          el('td', {}, [del]),
        ]);
      }),
    );
    $('#machines-empty').hidden = rows.length > 0;
  }

  async #refreshStats() {
    const [stats, status] = await Promise.all([this.#src.stats(), this.#src.status()]);
    const tbody = /** @type {HTMLElement} */ ($('#stats tbody'));
    if (stats) {
      const keys = ['persons', 'machines', 'urls', 'accesses', 'person_urls', 'machine_urls', 'bytes'];
      tbody.replaceChildren(...keys.filter((k) => k in stats).map((k) => el('tr', {}, [el('th', {}, [k.replace('_', ' ')]), el('td', { class: 'num', id: `stat-${k}` }, [Number(stats[k]).toLocaleString()])])));
      this.#history.push([Date.now(), stats.persons, stats.machines, stats.urls, stats.accesses, stats.person_urls]);
      if (this.#history.length > SAMPLES) this.#history.splice(0, this.#history.length - SAMPLES);
      localStorage.setItem(this.#historyKey, JSON.stringify(this.#history));
      renderChart(/** @type {SVGSVGElement} */ (/** @type {unknown} */ ($('#chart'))), this.#history, [
        { index: 4, cls: 'accesses', color: '#2f6fdd' },
        { index: 5, cls: 'person_urls', color: '#d9822b' },
      ]);
    } else {
      tbody.replaceChildren(el('tr', {}, [el('td', {}, ['statistics are not offered by this server'])]));
    }
    this.#renderStorage(status);
  }

  /** @param {Record<string, any> | null} s */
  #renderStorage(s) {
    const dl = $('#storage');
    if (!s) {
      dl.replaceChildren(el('dt', {}, ['storage']), el('dd', { 'data-key': 'storage' }, ['on the server (regwasm serve)']));
      return;
    }
    /** @type {[string, string][]} */
    const items = [
      ['storage', s.storage],
      ['snapshot file', s.snapshot ?? 'none yet'],
      ['last save', lastSave(s)],
      ['last commit', s.lastCommit ? when(s.lastCommit) : s.storage === 'memory' ? 'memory only (not persisted)' : 'nothing changed yet'],
      ['files', s.files.map((/** @type {any} */ f) => `${f.name} (${Number(f.size).toLocaleString()} B)`).join(', ') || 'none'],
      ['this tab', s.owner === false ? 'forwards to the tab that owns the registry' : 'owns the registry instance'],
    ];
    dl.replaceChildren(...items.flatMap(([k, v]) => [el('dt', {}, [k]), el('dd', { 'data-key': k }, [v])]));
  }
}

async function main() {
  try {
    const src = await chooseSource(new URLSearchParams(location.search));
    const d = new Dashboard(src);
    /** @type {any} */ (window).regwasmDashboard = { source: src };
    await d.start();
  } catch (e) {
    say(`dashboard failed: ${e instanceof Error ? e.message : e}`, true);
    document.body.dataset.ready = 'error';
  }
}

main();
