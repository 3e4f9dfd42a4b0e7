// Types of the `regwasm` package (browser and Node builds share this API).

/** Where registry.wasm comes from: a URL (or path, in Node), its bytes, or a compiled module. */
export type WasmSource = string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module;

export interface OpenOptions {
  /** Registry name (default 'registry'). Browser tabs opening the same name and storage share
   * one instance; in Node the default directory is `./<name>`. */
  name?: string;
  /** Browser: 'indexeddb' (default) or 'memory'. Node: 'memory' or a directory (default). */
  storage?: 'indexeddb' | 'memory' | (string & {});
  /** Default: registry.wasm next to the bundle (`new URL('./registry.wasm', import.meta.url)`). */
  wasm?: WasmSource;
  /** Browser only: the worker script (default: worker.js next to the bundle), or a function
   * that starts the module Worker. */
  worker?: string | URL | (() => Worker);
  /** For tests only (reproducible runs, the conformance suite): new person GUIDs take their
   * random bits from a SplitMix64 stream of `seed` (tests/conformance/stream.go specifies it)
   * instead of crypto, and the module's realtime clock reads `now` (unix seconds). In a
   * browser every Worker that loads the registry starts the stream anew. */
  deterministic?: DeterministicOptions;
}

export interface DeterministicOptions {
  /** Seed of the random stream, 0 to 2^64-1. */
  seed: number | bigint | string;
  /** The realtime clock, unix seconds. */
  now: number;
}

export interface ActionOptions {
  /** Unix seconds (or a Date); empty means "now" by the module's clock. */
  when?: number | Date;
  /** Omit the `urls` list (for `access`: the whole body). */
  quiet?: boolean;
}

/** One entry of a `urls` list: [machine_guid, url, last_t * 1000, usages, name]. */
export type UrlEntry = [machine: string, url: string, lastMs: number, usages: number, name: string];

/**
 * A response: netdata's JSON body for the action, plus `status` (netdata's HTTP status) and
 * `person` (the person GUID the action resolved to, '' when none) from the response record.
 * The body's own status string ("ok", "failed", ...) is `statusText`.
 */
export interface Result {
  status: number;
  person: string;
  statusText?: string;
  action?: string;
  hostname?: string;
  machine_guid?: string;
  person_guid?: string;
  urls?: UrlEntry[];
  registry?: string;
  [field: string]: unknown;
}

export interface Stats extends Result {
  persons: number;
  machines: number;
  urls: number;
  accesses: number;
  person_urls: number;
  machine_urls: number;
  bytes: number;
  /** The module's files: current snapshot, change sequence numbers, last save (unix s). */
  storage?: {
    mode: 'write' | 'read-only' | 'salvage';
    snapshot: string;
    generation: number;
    seq: number;
    saved_seq: number;
    /** Unix seconds the snapshot was written (0: never). */
    last_save: number;
    log_records: number;
    log_bytes: number;
    save_error?: string;
    /** Why changes are refused after a failed write; the registry resumes by itself. */
    write_error?: string;
    /** What the load found and repaired. */
    notes?: string[];
  };
}

export type Action =
  | ({ action: 'hello' } & ActionOptions)
  | ({ action: 'access'; person?: string; machine: string; url: string; name?: string } & ActionOptions)
  | ({ action: 'delete'; person?: string; machine: string; url: string; deleteUrl: string } & ActionOptions)
  | ({ action: 'search'; person?: string; machine: string; url: string; for: string } & ActionOptions)
  | ({ action: 'switch'; person?: string; machine: string; url: string; to: string } & ActionOptions)
  | ({ action: 'stats' } & ActionOptions)
  | ({ action: 'expire' } & ActionOptions)
  | ({ action: 'config' } & ActionOptions)
  | ({ action: 'check' } & ActionOptions)
  /** Names of files inside the data directory (netdata's registry.db / registry-log.db). */
  | ({ action: 'import'; db?: string; log?: string } & ActionOptions)
  /** Writes netdata's registry.db text to `file` inside the data directory. */
  | ({ action: 'export'; file: string } & ActionOptions)
  | ({ action: 'configure'; conf: string } & ActionOptions);

export interface SaveResult {
  /** The snapshot file written, e.g. "registry.db.2". */
  file: string;
  /** Sequence number of the last change it contains. */
  seq: number;
  bytes: number;
  [field: string]: unknown;
}

export interface StorageStatus {
  /** 'indexeddb', 'memory', or the directory. */
  storage: string;
  files: { name: string; size: number }[];
  /** The snapshot file the registry was loaded from or last saved to (null before any save). */
  snapshot: string | null;
  /** The module's own figures: {mode, snapshot, generation, seq, saved_seq, last_save, log_records, log_bytes, ...}. */
  module: Record<string, unknown> | null;
  /** This session's last save (`at`: ms since the epoch). */
  lastSave: (SaveResult & { at: number }) | null;
  /** IndexedDB: ms since the epoch of the last committed change. */
  lastCommit: number | null;
  /** Instances replaced after a trap. */
  traps: number;
  /** Browser: whether this tab owns the instance (others forward to it). */
  owner?: boolean;
}

export declare class Registry {
  private constructor();
  readonly name: string;
  readonly storage: string;
  /** Runs several actions as one request (parsed completely before anything is applied). */
  batch(actions: readonly Action[]): Promise<Result[]>;
  access(person: string, machine: string, url: string, name: string, options?: ActionOptions): Promise<Result>;
  delete(person: string, machine: string, url: string, deleteUrl: string, options?: ActionOptions): Promise<Result>;
  search(person: string, machine: string, url: string, forMachine: string, options?: ActionOptions): Promise<Result>;
  switch(person: string, machine: string, url: string, to: string, options?: ActionOptions): Promise<Result>;
  hello(options?: ActionOptions): Promise<Result>;
  stats(): Promise<Stats>;
  expire(options?: ActionOptions): Promise<Result>;
  /** The settings (netdata's `[registry]` keys and values). */
  config(): Promise<Result>;
  /**
   * Changes settings from netdata.conf text (its `[registry]` keys), stored with the files.
   * Lines not applied (keys regwasm does not use, unknown keys) are listed under `ignored`;
   * a bad value of a key regwasm uses: status 400, nothing changes.
   */
  configure(conf: string): Promise<Result>;
  /** Verifies every file; answers a report ({healthy, snapshot, config, log}). */
  check(): Promise<Result>;
  /** Writes a snapshot and compacts the log; resolves once durable. */
  save(): Promise<SaveResult>;
  status(): Promise<StorageStatus>;
  /** Finishes pending calls and releases the registry. */
  close(): Promise<void>;
}

/**
 * `code`: 'malformed' | 'storage' | 'corrupt' | 'internal' (the module's error codes), 'trap'
 * (the instance died and was replaced), 'closed', 'persist' (IndexedDB commit failed),
 * 'failed' (could not start), 'locked' (another registry holds the directory; the message
 * names the holder: pid, program, host, since).
 */
export declare class RegistryError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown });
}

export declare function openRegistry(options?: OpenOptions): Promise<Registry>;
