// The dashboard page: a person's machines (grouped by machine, with their alternate URLs, as
// netdata's menu shows them), an access/switch form, statistics over time, storage (save,
// backup, restore, persistence), and for the operator of `regwasm serve` the registry's
// overview (counts over time, storage health, top machines). Data comes from either source
// (sources.js).
import { compact, renderChart } from './chart.js';
import { chooseSource } from './sources.js';

/** @typedef {import('./sources.js').LocalSource | import('./sources.js').HttpSource} Source */
/** @typedef {{url: string, last: number, usages: number, name: string, expired: boolean}} UrlItem */
/** @typedef {{machine: string, name: string, last: number, usages: number, urls: UrlItem[]}} MachineItem */

const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (document.querySelector(sel));
const SAMPLES = 120;
const REFRESH_MS = 10_000;

/** @param {string} text @param {boolean} [error] */
function say(text, error = false) {
  const m = $('#message');
  m.textContent = text;
  m.className = error ? 'error' : '';
  m.hidden = text === '';
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

/** @param {number} ms a time, ms since the epoch: "5 min ago" */
function ago(ms) {
  if (!ms) return 'never';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** @param {number} ms @param {Record<string, string>} [attrs] a relative time, the full one on hover */
const when = (ms, attrs = {}) => el('span', { class: 'when', title: ms ? new Date(ms).toLocaleString() : '', ...attrs }, [ago(ms)]);

/** @param {number} n */
const bytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/**
 * The person's URL entries grouped by machine, most recently used first.
 * @param {any[][]} urls netdata's [machine, url, lastMs, usages, name, flags]
 * @returns {MachineItem[]}
 */
export function byMachine(urls) {
  /** @type {Map<string, MachineItem>} */
  const groups = new Map();
  for (const [machine, url, last, usages, name, flags] of urls) {
    let g = groups.get(machine);
    if (!g) groups.set(machine, (g = { machine, name: '', last: 0, usages: 0, urls: [] }));
    g.urls.push({ url, last, usages, name, expired: typeof flags === 'number' && (flags & 1) !== 0 });
    g.usages += usages;
  }
  for (const g of groups.values()) {
    // The URL used last that still reaches the machine names it and comes first.
    g.urls.sort((a, b) => Number(a.expired) - Number(b.expired) || b.last - a.last);
    g.last = Math.max(...g.urls.map((u) => u.last));
    g.name = g.urls[0].name || g.urls[0].url;
  }
  return [...groups.values()].sort((a, b) => b.last - a.last);
}

function randomGuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
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
  /** @type {any[][]} */
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
    await this.#refresh();
    // Another tab's change: new counts. (Not a new visit: it would be a change in turn.)
    this.#src.onEvent((what) => {
      if (what === 'change') this.#act(async () => {});
      else say(`registry ${what}`, what.startsWith('failed'));
    });
    setInterval(() => this.#refresh().catch((e) => say(`refresh failed: ${e instanceof Error ? e.message : e}`, true)), REFRESH_MS);
    /** @type {HTMLFieldSetElement} */ ($('#controls')).disabled = false;
  }

  #wire() {
    const access = /** @type {HTMLFormElement} */ ($('#access-form'));
    access.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = new FormData(access);
      this.#act(async () => {
        const r = await this.#src.access(String(f.get('machine')).trim(), String(f.get('url')).trim(), String(f.get('name') ?? '').trim());
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
    const src = this.#src;
    this.#button('#save', src.save, async (save) => {
      const r = await save();
      say(`saved ${r.file} (${bytes(r.bytes)})`);
    });
    this.#button('#persist', src.persist, async (persist) => {
      const granted = await persist();
      say(granted ? 'the browser will keep this registry (persistent storage granted)' : 'the browser did not grant persistent storage: it may evict this registry under storage pressure', !granted);
    });
    this.#button('#export', src.exportBackup, async (exportBackup) => {
      const data = await exportBackup();
      const a = el('a', { href: URL.createObjectURL(new Blob([/** @type {BlobPart} */ (data)], { type: 'text/plain' })), download: `registry-${new Date().toISOString().slice(0, 10)}.db` });
      a.click();
      setTimeout(() => URL.revokeObjectURL(/** @type {HTMLAnchorElement} */ (a).href), 10_000);
      say(`backup of ${bytes(data.byteLength)} (netdata's registry.db format)`);
    });
    const input = /** @type {HTMLInputElement} */ ($('#import'));
    const importBackup = src.importBackup;
    if (importBackup) {
      $('#import-label').hidden = false;
      input.addEventListener('change', () => {
        const file = input.files?.[0];
        if (!file) return;
        this.#act(async () => {
          const r = await importBackup(file);
          input.value = '';
          if (r.status !== 200) return say(`restore refused (${r.status}): ${r.error ?? ''}`, true);
          await this.#visit();
          say(`restored ${r.persons} persons, ${r.machines} machines from ${file.name}`);
        });
      });
    }
    $('#verify').addEventListener('click', () =>
      this.#act(async () => {
        const o = await this.#src.overview(true);
        if (o) this.#renderOverview(o);
        const healthy = o?.check?.healthy;
        say(healthy ? 'every file verified' : 'verification found problems: see Storage health', !healthy);
      }, false),
    );
  }

  /**
   * Shows the button `sel` when the source offers `fn`, and runs `run` on a click.
   * @template F
   * @param {string} sel
   * @param {F | null | undefined} fn
   * @param {(fn: F) => Promise<void>} run
   */
  #button(sel, fn, run) {
    if (!fn) return;
    const b = $(sel);
    b.hidden = false;
    b.addEventListener('click', () => this.#act(() => run(fn)));
  }

  /**
   * @param {() => Promise<void>} fn
   * @param {boolean} [refresh] refresh the statistics after
   */
  #act(fn, refresh = true) {
    fn()
      .then(() => (refresh ? this.#refresh() : undefined))
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
    const groups = byMachine(this.#urls);
    $('#machines').replaceChildren(
      ...groups.map((g) => {
        const main = g.urls[0];
        const title = /^https?:\/\//.test(main.url) ? el('a', { class: 'machine-name', href: main.url, rel: 'noopener' }, [g.name]) : el('span', { class: 'machine-name' }, [g.name]);
        return el('li', { class: 'machine', 'data-machine': g.machine }, [
          el('div', { class: 'machine-head' }, [title, when(g.last), el('span', { class: 'muted' }, [`${g.usages} ${g.usages === 1 ? 'access' : 'accesses'}`])]),
          el('div', { class: 'machine-guid guid', title: 'machine GUID' }, [g.machine]),
          el('ul', { class: 'urls' }, g.urls.map((u, i) => this.#urlItem(g.machine, u, i))),
        ]);
      }),
    );
    const n = groups.length;
    $('#machines-count').textContent = n ? `(${n} ${n === 1 ? 'machine' : 'machines'}, ${this.#urls.length} URLs)` : '';
    $('#machines-empty').hidden = n > 0;
  }

  /**
   * @param {string} machine
   * @param {UrlItem} u
   * @param {number} i its place among the machine's URLs (0: the one used last)
   */
  #urlItem(machine, u, i) {
    const link = /^https?:\/\//.test(u.url) ? el('a', { href: u.url, rel: 'noopener' }, [u.url]) : el('span', { class: 'plain' }, [u.url]);
    const tags = [];
    if (i > 0 && !u.expired) tags.push(el('span', { class: 'tag' }, ['alternate']));
    if (u.expired) tags.push(el('span', { class: 'tag expired', title: 'this URL now reaches another machine' }, ['expired']));
    const meta = el('span', { class: 'meta' }, [when(u.last), ` · ${u.usages} × · ${u.name}`]);
    return el('li', { class: u.expired ? 'url expired' : 'url', 'data-machine': machine, 'data-url': u.url, 'data-last': String(u.last), 'data-usages': String(u.usages) }, [
      el('span', {}, [link, ' ', ...tags]),
      el('span', { class: 'actions' }, [this.#deleteButton(u.url)]),
      meta,
    ]);
  }

  /**
   * A delete button that asks for a second click (and a cancel) before it deletes.
   * @param {string} url
   */
  #deleteButton(url) {
    const del = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'danger delete', 'data-url': url, title: `remove ${url} from this person's list` }, ['delete']));
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const cancel = el('button', { type: 'button', class: 'cancel', hidden: '' }, ['cancel']);
    const reset = () => {
      clearTimeout(timer);
      del.textContent = 'delete';
      del.className = 'danger delete';
      cancel.hidden = true;
    };
    cancel.addEventListener('click', reset);
    del.addEventListener('click', () => {
      if (!del.classList.contains('confirm')) {
        del.textContent = 'confirm delete';
        del.className = 'confirm delete';
        cancel.hidden = false;
        timer = setTimeout(reset, 8000);
        return;
      }
      reset();
      this.#act(async () => {
        const r = await this.#src.delete(this.#self.machine, this.#self.url, url);
        if (r.status !== 200) return this.#show(r, '');
        this.#urls = this.#urls.filter((x) => x[1] !== url);
        this.#renderMachines();
        say(`deleted ${url}`);
      });
    });
    const wrap = document.createDocumentFragment();
    wrap.append(del, cancel);
    return /** @type {any} */ (wrap);
  }

  async #refresh() {
    const [counts, status, overview] = await Promise.all([this.#src.stats(), this.#src.status(), this.#src.overview().catch(() => null)]);
    const stats = /** @type {Record<string, any> | null} */ (counts);
    const tbody = $('#stats tbody');
    if (stats) {
      const keys = ['persons', 'machines', 'urls', 'accesses', 'person_urls', 'machine_urls', 'bytes'];
      tbody.replaceChildren(
        ...keys
          .filter((k) => k in stats)
          .map((k) => el('tr', {}, [el('th', {}, [k.replace('_', ' ')]), el('td', { class: 'num', id: `stat-${k}` }, [k === 'bytes' ? bytes(Number(stats[k])) : Number(stats[k]).toLocaleString()])])),
      );
      this.#history.push([Date.now(), stats.persons, stats.machines, stats.urls, stats.accesses, stats.person_urls]);
      if (this.#history.length > SAMPLES) this.#history.splice(0, this.#history.length - SAMPLES);
      localStorage.setItem(this.#historyKey, JSON.stringify(this.#history));
      renderChart(
        /** @type {SVGSVGElement} */ (/** @type {unknown} */ ($('#chart'))),
        this.#history,
        [
          { index: 4, cls: 'accesses', color: '#2f6fdd', label: 'accesses' },
          { index: 5, cls: 'person_urls', color: '#d9822b', label: 'person URLs' },
        ],
        $('#chart-legend'),
      );
    } else {
      tbody.replaceChildren(el('tr', {}, [el('td', {}, ['statistics are not offered by this server'])]));
    }
    // The server's own history replaces the page's samples.
    $('#local-chart').hidden = !stats || overview !== null;
    this.#renderStorage(status);
    if (overview) this.#renderOverview(overview);
  }

  /** @param {Record<string, any> | null} s */
  #renderStorage(s) {
    const dl = $('#storage');
    if (!s) {
      dl.replaceChildren(el('dt', {}, ['storage']), el('dd', { 'data-key': 'storage' }, ['on the server (regwasm serve)']));
      return;
    }
    /** @type {[string, string | Node][]} */
    const items = [
      ['storage', s.storage],
      ['snapshot file', s.snapshot ?? 'none yet'],
      ['last save', s.lastSave ? el('span', {}, [when(s.lastSave.at), `: ${s.lastSave.file}, ${bytes(s.lastSave.bytes)}`]) : s.snapshot ? 'before this session' : 'never'],
      ['last commit', s.lastCommit ? when(s.lastCommit) : s.storage === 'memory' ? 'memory only (not persisted)' : 'nothing changed yet'],
      ['persistent', s.storage === 'memory' ? 'no (memory)' : s.persisted ? 'yes' : 'no: the browser may evict it under storage pressure'],
      ['files', s.files.map((/** @type {any} */ f) => `${f.name} (${bytes(f.size)})`).join(', ') || 'none'],
      ['this tab', s.owner === false ? 'forwards to the tab that runs the registry' : 'runs the registry'],
    ];
    dl.replaceChildren(...items.flatMap(([k, v]) => [el('dt', {}, [k]), el('dd', { 'data-key': k }, [v])]));
    $('#persist').hidden = !this.#src.persist || s.storage === 'memory' || s.persisted;
  }

  /** @param {Record<string, any>} o the server's overview (host/cmd/regwasm/overview.go) */
  #renderOverview(o) {
    $('#overview-section').hidden = false;
    const metrics = [
      { index: 1, cls: 'persons', color: '#2f6fdd', label: 'persons' },
      { index: 2, cls: 'machines', color: '#1e8a5a', label: 'machines' },
      { index: 3, cls: 'urls', color: '#8a4bd6', label: 'URLs' },
      { index: 4, cls: 'accesses', color: '#d9822b', label: 'accesses' },
    ];
    const history = /** @type {number[][]} */ (o.history);
    $('#overview-charts').replaceChildren(
      ...metrics.map((m) => {
        const chart = /** @type {SVGSVGElement} */ (document.createElementNS('http://www.w3.org/2000/svg', 'svg'));
        chart.setAttribute('viewBox', '0 0 300 110');
        chart.setAttribute('role', 'img');
        chart.setAttribute('aria-label', `${m.label} over time`);
        chart.classList.add('overview-chart');
        renderChart(chart, history, [m]);
        const last = history.at(-1)?.[m.index] ?? 0;
        return el('figure', { class: 'minichart', 'data-metric': m.cls }, [chart, el('figcaption', {}, [el('span', {}, [m.label]), el('span', {}, [compact(last)])])]);
      }),
    );
    const st = o.storage;
    const health = $('#health');
    const bad = st.write_error || st.save_error || (o.check && !o.check.healthy);
    health.className = bad ? 'health bad' : 'health ok';
    health.textContent = st.write_error
      ? `writes stopped (changes refused until they resume): ${st.write_error}`
      : st.save_error
        ? `save failing: ${st.save_error}`
        : o.check
          ? o.check.healthy
            ? 'healthy: every file verified'
            : 'problems found: see the check below'
          : 'healthy (writes and saves succeed)';
    /** @type {[string, string | Node][]} */
    const items = [
      ['last save', st.last_save ? el('span', {}, [when(st.last_save), st.snapshot ? ` (${st.snapshot})` : '']) : 'none yet'],
      ['log', `${bytes(st.log_bytes)}, ${Number(st.log_records).toLocaleString()} changes since the snapshot`],
      ['on disk', `${bytes(st.disk_bytes)} in ${st.files.length} files`],
      ['files', st.files.map((/** @type {any} */ f) => `${f.name} ${bytes(f.size)}`).join(', ') || 'none'],
      ['server up', when(o.started)],
    ];
    if (o.check) {
      const c = o.check;
      const problems = [...(c.problems ?? []), c.snapshot.error, c.config.error, c.log.error].filter(Boolean);
      items.push(['check', `${c.healthy ? 'healthy' : 'NOT healthy'}: snapshot ${c.snapshot.chosen || 'none'} (${c.snapshot.explain}); log ${c.log.records} records${problems.length ? `; ${problems.join('; ')}` : ''}`]);
    }
    $('#overview-storage').replaceChildren(...items.flatMap(([k, v]) => [el('dt', {}, [k]), el('dd', { 'data-key': k }, [v])]));
    $('#top tbody').replaceChildren(
      ...(o.top.length
        ? o.top.map((/** @type {any} */ m) =>
            el('tr', { 'data-machine': m.machine_guid }, [
              el('td', {}, [el('span', { class: 'guid', title: m.machine_guid }, [m.machine_guid.slice(0, 8)])]),
              el('td', {}, [/^https?:\/\//.test(m.url) ? el('a', { href: m.url, rel: 'noopener' }, [m.url]) : m.url]),
              el('td', { class: 'num' }, [Number(m.usages).toLocaleString()]),
              el('td', {}, [when(m.last * 1000)]),
            ]),
          )
        : [el('tr', {}, [el('td', { colspan: '4', class: 'muted' }, ['no machines yet'])])]),
    );
  }
}

async function main() {
  try {
    const src = await chooseSource(new URLSearchParams(location.search));
    const d = new Dashboard(src);
    /** @type {any} */ (window).regwasmDashboard = { source: src };
    await d.start();
    document.body.dataset.ready = 'true';
  } catch (e) {
    say(`The dashboard could not start: ${e instanceof Error ? e.message : e}`, true);
    $('#source').textContent = 'failed to start';
    /** @type {HTMLFieldSetElement} */ ($('#controls')).disabled = true;
    document.body.dataset.ready = 'error';
  } finally {
    clearTimeout(/** @type {any} */ (window).regwasmStartup);
  }
}

main();
