// Types of the `regwasm` package (the browser and Node builds share this API).
// They need neither the DOM lib nor @types/node: a host type (URL, Worker, Blob,
// WebAssembly.Module, AbortSignal, Symbol.asyncDispose) is used where the consumer's libs
// declare it and left out where they do not. Checked with `tsc --strict` for `nodenext` and
// `bundler` resolution, with and without the DOM lib (tests/web/types.test.mjs).

type Globals = typeof globalThis;
/** `URL` where the consumer's libs declare it. */
type URLLike = Globals extends { URL: abstract new (...args: any[]) => infer U } ? U : never;
/** `Worker` (browsers). */
type WorkerLike = Globals extends { Worker: abstract new (...args: any[]) => infer W } ? W : never;
/** `WebAssembly.Module`. */
type WasmModule = Globals extends { WebAssembly: { Module: abstract new (...args: any[]) => infer M } } ? M : never;
/** `Blob` (browsers, Node 18+ with @types/node). */
type BlobLike = Globals extends { Blob: abstract new (...args: any[]) => infer B } ? B : never;
/** `Symbol.asyncDispose` where declared (TypeScript's esnext.disposable lib, @types/node). */
type AsyncDisposeKey = SymbolConstructor extends { readonly asyncDispose: infer K extends symbol } ? K : never;

/** What an AbortSignal offers that the calls use (DOM's and Node's AbortSignal fit). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: any;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Where registry.wasm comes from: a URL (or path, in Node), its bytes, or a compiled module. */
export type WasmSource = string | URLLike | ArrayBuffer | ArrayBufferView | WasmModule;

export interface OpenOptions {
  /** Registry name (default 'registry'): 1-100 letters, digits, '.', '_', '-', starting with a
   * letter or digit. Browser tabs opening the same name and storage share one instance; in
   * Node the default directory is `./<name>`. */
  name?: string;
  /** Browser: 'indexeddb' (default) or 'memory'. Node: 'memory' or a directory (default
   * `./<name>`, created if missing). */
  storage?: 'indexeddb' | 'memory' | (string & {});
  /** Default: registry.wasm next to the bundle (`new URL('./registry.wasm', import.meta.url)`). */
  wasm?: WasmSource;
  /** Browser only: the worker script (default: worker.js next to the bundle), or a function
   * that starts the module Worker. Ignored in Node. */
  worker?: string | URLLike | (() => WorkerLike);
  /** Node only: 'worker' (default) runs the module in a worker thread, off the event loop;
   * 'inline' runs it in the calling thread (calls then block the event loop). Ignored in
   * browsers, where the module always runs in a Worker. */
  engine?: 'worker' | 'inline';
  /** For tests only (reproducible runs, the conformance suite): new person GUIDs take their
   * random bits from a SplitMix64 stream of `seed` instead of crypto, and the module's
   * realtime clock reads `now` (unix seconds). */
  deterministic?: DeterministicOptions;
}

export interface DeterministicOptions {
  /** Seed of the random stream, 0 to 2^64-1. */
  seed: number | bigint | string;
  /** The realtime clock, unix seconds. */
  now: number;
}

/** Options of every call. */
export interface CallOptions {
  /** Stop waiting when it aborts: the call rejects with code 'aborted'. A call already sent
   * to the module may still be applied; one not sent yet never is. */
  signal?: AbortSignalLike;
  /** Milliseconds to wait for the answer before rejecting with code 'timeout' (the action
   * may still be applied). */
  timeout?: number;
}

export interface ActionOptions extends CallOptions {
  /** The time of the action: unix time in SECONDS, or a Date; empty means "now" by the
   * module's clock. `Date.now()` (milliseconds) is refused with code 'invalid'. */
  when?: number | Date;
  /** Omit the `urls` list (for `access`: the whole body). */
  quiet?: boolean;
}

/** netdata's HTTP statuses, which the actions answer. */
export type Status =
  | 200
  /** Bad request: a required field missing, a URL not starting with 'h' or '*', ... */
  | 400
  /** search/delete: the person, the machine or the person's access to it is not known. */
  | 404
  | 412
  /** switch: the person is not known. */
  | 430
  /** switch: the person to switch to is not known. */
  | 431
  /** switch: the machine is not known. */
  | 432
  /** switch: the person never accessed the machine. */
  | 433
  /** switch: the person to switch to never accessed the machine. */
  | 434
  /** The action failed: an invalid machine GUID, storage failure, ... */
  | 500
  /** A change refused while writes are stopped after a failed write (`error` says why); the
   * registry resumes by itself. */
  | 503;

/**
 * One entry of a `urls` list: [machine GUID, URL, last access in MILLISECONDS since the epoch
 * (netdata's last_t * 1000; `new Date(entry[2])`), usages, name, flags (1: EXPIRED, the URL now
 * reaches another machine)].
 */
export type UrlEntry = [machine: string, url: string, lastMs: number, usages: number, name: string, flags: number];

/**
 * What every action answers: netdata's JSON body, plus `status` (netdata's HTTP status) and
 * `person` (the person GUID the action resolved to, '' when none) from the response record.
 * The body's own status string ("ok", "failed", "disabled", ...) is `statusText`; a failed
 * action says why in `error`.
 */
export interface ResultBase {
  status: Status;
  person: string;
  statusText?: string;
  action?: string;
  hostname?: string;
  machine_guid?: string;
  /** Why the action failed (status other than 200). */
  error?: string;
}

export interface HelloResult extends ResultBase {
  /** The registry the agents announce. */
  registry?: string;
}

export interface AccessResult extends ResultBase {
  person_guid?: string;
  registry?: string;
  /** The person's URLs (absent with `quiet`). */
  urls?: UrlEntry[];
}

export interface DeleteResult extends ResultBase {
  person_guid?: string;
}

export interface SearchResult extends ResultBase {
  /** The URLs of the machine searched for. */
  urls?: UrlEntry[];
}

export interface SwitchResult extends ResultBase {
  /** The identity to adopt (the new cookie). */
  person_guid?: string;
}

/** The module's figures about its files. */
export interface ModuleStorage {
  mode: 'write' | 'read-only' | 'salvage';
  snapshot: string;
  generation: number;
  seq: number;
  saved_seq: number;
  /** Unix SECONDS the snapshot was written (it survives a reopen); 0: never. */
  last_save: number;
  log_records: number;
  log_bytes: number;
  /** Present when the last save failed. */
  save_error?: string;
  /** Why changes are refused (status 503) after a failed write; the registry resumes by itself. */
  write_error?: string;
  /** What the load found and repaired. */
  notes?: string[];
}

export interface StatsResult extends ResultBase {
  persons: number;
  machines: number;
  /** Unique URLs. */
  urls: number;
  accesses: number;
  person_urls: number;
  machine_urls: number;
  /** Memory held by the registry's tables. */
  bytes: number;
  storage?: ModuleStorage;
}

export interface ExpireResult extends ResultBase {
  /** Persons purged. */
  expired?: number;
}

/** netdata's `[registry]` settings, by netdata.conf key (`enabled`, `max URL length`, ...). */
export interface ConfigResult extends ResultBase {
  /** configure: the lines not applied (keys regwasm does not use, unknown keys, lines without `=`). */
  ignored?: { line: number; key: string; why: string }[];
  [key: string]: unknown;
}

export interface CheckResult extends ResultBase {
  healthy: boolean;
  /** What a load would lose, '' when nothing. */
  loss: string;
  /** How the files would open. */
  open: string;
  snapshot: { chosen: string; explain: string; error: string };
  config: { chosen: string; explain: string; error: string };
  log: { records: number; bytes: number; torn_tail: number; error: string };
  /** What is wrong, one sentence each. */
  problems: string[];
  /** What is worth knowing but not wrong. */
  notes: string[];
  files: { name: string; bytes: number; status: string }[];
}

export interface ImportResult extends ResultBase {
  persons?: number;
  machines?: number;
  person_urls?: number;
  machine_urls?: number;
  accesses?: number;
  deletes?: number;
  expired?: number;
  lines?: number;
  skipped?: number;
  errors?: { line: number; file: string; reason: string }[];
}

export interface ExportResult extends ResultBase {}

/** One machine of `topMachines()`. Times in unix SECONDS. */
export interface TopMachine {
  machine_guid: string;
  /** Accesses recorded for the machine. */
  usages: number;
  first: number;
  last: number;
  /** How many URLs reach it. */
  urls: number;
  /** Its most recently used URL. */
  url: string;
}

export interface TopMachinesResult extends ResultBase {
  machines?: TopMachine[];
}

/** The actions `batch()` takes: `{action, ...fields}` plus `when` and `quiet`. */
export type Action =
  | ({ action: 'hello' } & BatchOptions)
  | ({ action: 'access'; person?: string; machine: string; url: string; name?: string } & BatchOptions)
  | ({ action: 'delete'; person?: string; machine: string; url: string; deleteUrl: string } & BatchOptions)
  | ({ action: 'search'; person?: string; machine: string; url: string; for: string } & BatchOptions)
  | ({ action: 'switch'; person?: string; machine: string; url: string; to: string } & BatchOptions)
  | ({ action: 'stats' } & BatchOptions)
  | ({ action: 'expire' } & BatchOptions)
  | ({ action: 'config' } & BatchOptions)
  | ({ action: 'check' } & BatchOptions)
  | ({ action: 'top'; limit?: string } & BatchOptions)
  /** Names of files inside the data directory (netdata's registry.db / registry-log.db). */
  | ({ action: 'import'; db?: string; log?: string } & BatchOptions)
  /** Writes netdata's registry.db text to `file` inside the data directory. */
  | ({ action: 'export'; file: string } & BatchOptions)
  | ({ action: 'configure'; conf: string } & BatchOptions);

/** `when` and `quiet` of one action in a batch. */
export interface BatchOptions {
  when?: number | Date;
  quiet?: boolean;
}

/** The result type of an action. */
export type ResultOf<A extends { action: string }> = A['action'] extends keyof ResultsByAction ? ResultsByAction[A['action']] : ResultBase;

export interface ResultsByAction {
  hello: HelloResult;
  access: AccessResult;
  delete: DeleteResult;
  search: SearchResult;
  switch: SwitchResult;
  stats: StatsResult;
  expire: ExpireResult;
  config: ConfigResult;
  check: CheckResult;
  top: TopMachinesResult;
  import: ImportResult;
  export: ExportResult;
  configure: ConfigResult;
}

export interface AccessOptions extends ActionOptions {
  /** The person GUID (the netdata cookie); '' or unknown: a new person. */
  person?: string;
  machine: string;
  url: string;
  name?: string;
}
export interface DeleteOptions extends ActionOptions {
  person?: string;
  machine: string;
  url: string;
  /** The URL to remove from the person's list. */
  deleteUrl: string;
}
export interface SearchOptions extends ActionOptions {
  person?: string;
  machine: string;
  url: string;
  /** The machine whose URLs to answer. */
  for: string;
}
export interface SwitchOptions extends ActionOptions {
  person?: string;
  machine: string;
  url: string;
  /** The person GUID to adopt. */
  to: string;
}

export interface SaveResult {
  /** The snapshot file written, e.g. "registry.db.2". */
  file: string;
  /** Sequence number of the last change it contains. */
  seq: number;
  bytes: number;
}

export interface StorageStatus {
  /** 'indexeddb', 'memory', or the directory. */
  storage: string;
  files: { name: string; size: number }[];
  /** The snapshot file the registry was loaded from or last saved to (null before any save). */
  snapshot: string | null;
  /** The module's own figures (`last_save` in unix seconds). */
  module: ModuleStorage | null;
  /** The last save: this session's, else the one the snapshot records. `at`: MILLISECONDS
   * since the epoch (`new Date(at)`). */
  lastSave: (SaveResult & { at: number }) | null;
  /** IndexedDB: ms since the epoch of the last committed change; else null. */
  lastCommit: number | null;
  /** Instances replaced after a trap. */
  traps: number;
  /** Whether the data survives: a directory yes, memory no, IndexedDB only once the browser
   * granted persistent storage (`navigator.storage.persist()`): otherwise it may evict it. */
  persisted: boolean;
  /** Where the module runs: a worker thread / Worker, or the calling thread. */
  engine: 'worker' | 'inline';
  /** Browser: whether this tab owns the instance (others forward to it). */
  owner?: boolean;
}

/** The events of `Registry.on()`. */
export type RegistryEvent =
  /** Another tab changed the registry (browsers). */
  | { type: 'change'; from: string }
  /** This tab now runs the registry: the tab that did closed (browsers). */
  | { type: 'owner' }
  /** A memory registry restarted empty: the tab that held it closed (browsers). */
  | { type: 'reset'; reason: string }
  /** The registry closed: by close(), or destroy() here or in another tab. */
  | { type: 'close'; reason: 'closed' | 'destroyed' }
  /** The registry stopped working (a worker died, a takeover could not load the files). */
  | { type: 'failed'; error: RegistryError };

export type RegistryEventType = RegistryEvent['type'];

type AsyncDisposable_ = { [K in AsyncDisposeKey]: () => Promise<void> };

export interface Registry extends AsyncDisposable_ {}

export declare class Registry {
  private constructor();
  readonly name: string;
  readonly storage: string;
  /** Runs several actions as one request (parsed completely before anything is applied). */
  batch<const A extends readonly Action[]>(actions: A, options?: CallOptions): Promise<{ -readonly [K in keyof A]: ResultOf<A[K]> }>;
  access(person: string, machine: string, url: string, name?: string, options?: ActionOptions): Promise<AccessResult>;
  access(options: AccessOptions): Promise<AccessResult>;
  delete(person: string, machine: string, url: string, deleteUrl: string, options?: ActionOptions): Promise<DeleteResult>;
  delete(options: DeleteOptions): Promise<DeleteResult>;
  search(person: string, machine: string, url: string, forMachine: string, options?: ActionOptions): Promise<SearchResult>;
  search(options: SearchOptions): Promise<SearchResult>;
  switch(person: string, machine: string, url: string, to: string, options?: ActionOptions): Promise<SwitchResult>;
  switch(options: SwitchOptions): Promise<SwitchResult>;
  hello(options?: ActionOptions): Promise<HelloResult>;
  stats(options?: CallOptions): Promise<StatsResult>;
  /** Purges persons idle longer than the configured days, as of `when`. */
  expire(options?: CallOptions & { when?: number | Date }): Promise<ExpireResult>;
  /** The settings (netdata's `[registry]` keys and values). */
  config(options?: CallOptions): Promise<ConfigResult>;
  /** Changes settings from netdata.conf text (its `[registry]` keys), stored with the files.
   * Lines not applied are listed under `ignored`; a bad value of a key regwasm uses: status
   * 400, nothing changes. */
  configure(conf: string, options?: CallOptions): Promise<ConfigResult>;
  /** Verifies every file. */
  check(options?: CallOptions): Promise<CheckResult>;
  /** The machines with the most accesses, most first (`limit` 1-100, default 10). */
  topMachines(options?: CallOptions & { limit?: number }): Promise<TopMachinesResult>;
  /** Writes a snapshot and compacts the log; resolves once durable. */
  save(options?: CallOptions): Promise<SaveResult>;
  status(options?: CallOptions): Promise<StorageStatus>;
  /** A backup: netdata's registry.db text (persons, machines, URLs; not the settings).
   * `new Blob([bytes])` makes it a download. */
  export(options?: CallOptions): Promise<Uint8Array>;
  /** Loads netdata's registry.db text (an `export()`, or netdata's file) on top of what the
   * registry holds, and saves. Status 400 (nothing changed) when it is not one. */
  import(data: Uint8Array | ArrayBuffer | string | BlobLike, options?: CallOptions): Promise<ImportResult>;
  /** Listens to an event; returns a function that stops listening. */
  on<T extends RegistryEventType>(type: T, listener: (event: Extract<RegistryEvent, { type: T }>) => void): () => void;
  /** Finishes pending calls and releases the registry. */
  close(): Promise<void>;
  /** Closes the registry (in every tab) and deletes its files or database. */
  destroy(): Promise<void>;
}

/** The codes of RegistryError. */
export type ErrorCode =
  /** The module refused the request batch (nothing applied). */
  | 'malformed'
  /** A file could not be read or written. */
  | 'storage'
  /** The files are damaged beyond what loading recovers. */
  | 'corrupt'
  | 'internal'
  /** The instance died and was replaced; the call's effects are those that reached the files. */
  | 'trap'
  | 'closed'
  /** IndexedDB could not commit. */
  | 'persist'
  /** Nothing could be started: registry.wasm or the worker script missing or broken. */
  | 'failed'
  /** Another registry, in any process of any host, holds the directory (the message names it). */
  | 'locked'
  /** A wrong argument: nothing ran. */
  | 'invalid'
  /** The call's signal aborted. */
  | 'aborted'
  /** The call's timeout passed. */
  | 'timeout';

export declare class RegistryError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
  toJSON(): { code: ErrorCode; message: string };
}

export declare function openRegistry(options?: OpenOptions): Promise<Registry>;
