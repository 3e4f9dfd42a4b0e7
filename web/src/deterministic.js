// Deterministic randomness and clock for registry.wasm, for tests: the conformance suite runs
// the same vectors on every host and needs the same person GUIDs and times everywhere.
// The stream is the one tests/conformance/stream.go specifies (SplitMix64 seeded with a
// 64-bit seed, each output as 8 little-endian bytes, read in order whatever the read sizes);
// tests/conformance/stream.json holds known answers both implementations check.
import { RegistryError } from './errors.js';

const MASK = (1n << 64n) - 1n;

export class SplitMix64 {
  #state;
  #buf = new DataView(new ArrayBuffer(8));
  #left = 0;

  /** @param {number | bigint | string} seed a non-negative integer below 2^64 */
  constructor(seed) {
    this.#state = BigInt(seed) & MASK;
  }

  /** The next 64-bit output. */
  next() {
    this.#state = (this.#state + 0x9e3779b97f4a7c15n) & MASK;
    let z = this.#state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    return z ^ (z >> 31n);
  }

  /** @param {Uint8Array} out filled with the next bytes of the stream */
  fill(out) {
    for (let i = 0; i < out.length; i++) {
      if (this.#left === 0) {
        this.#buf.setBigUint64(0, this.next(), true);
        this.#left = 8;
      }
      out[i] = this.#buf.getUint8(8 - this.#left);
      this.#left--;
    }
  }
}

/**
 * @typedef {object} DeterministicOption what `openRegistry({deterministic})` takes (data only,
 *   so that it reaches a Worker through postMessage)
 * @property {number | bigint | string} seed seeds the random stream of new GUIDs
 * @property {number} now the realtime clock, unix seconds
 *
 * @typedef {object} Deterministic what shimWasi takes: one stream for the registry's whole
 *   life (an instance replacing a trapped one continues it) and the clock in nanoseconds
 * @property {SplitMix64} random
 * @property {bigint} nowNs
 */

/**
 * Checks the option and makes its stream; undefined when the option is not given.
 * @param {DeterministicOption | undefined | null} option
 * @returns {Deterministic | undefined}
 */
export function deterministic(option) {
  if (option === undefined || option === null) return undefined;
  const { seed, now } = /** @type {DeterministicOption} */ (option);
  let s;
  try {
    s = BigInt(seed);
  } catch {
    s = -1n;
  }
  if (s < 0n || s > MASK || (typeof seed === 'number' && !Number.isSafeInteger(seed))) {
    throw new RegistryError('invalid', `deterministic.seed must be an integer 0..2^64-1, not ${String(seed)}`);
  }
  if (!Number.isSafeInteger(now) || now < 0 || now > 0xffffffff) {
    throw new RegistryError('invalid', `deterministic.now must be unix seconds, not ${String(now)}`);
  }
  return { random: new SplitMix64(s), nowNs: BigInt(now) * 1_000_000_000n };
}
