// Canonical JSON (the RFC 8785 rules that matter for our data): object keys sorted by UTF-16
// code units, no whitespace, ECMAScript number formatting, undefined properties left out.
// The same value always yields the same bytes, whatever order its keys were built in, so every
// replica that encodes a catalogue hashes it identically.

const depthMax = 64;

/**
 * Canonical JSON text encoded earlier, written as is where it appears in a value (a part encoded
 * once instead of on every encoding of the whole; shards' snapshots use it to mark where their
 * pre-encoded dedup bytes go). The text must itself be canonical.
 */
export class CanonicalJsonText {
  constructor(readonly text: string) {}
}

export function canonicalJson(value: unknown): string {
  try {
    return fast(value, 0);
  } catch (e) {
    if (e !== notFast) throw e;
  }
  // Something it cannot encode: the path-tracking encoder says where (and throws).
  const out: string[] = [];
  write(value, out, '$', 0);
  return out.join('');
}

const notFast = new Error('canonical JSON: not encodable on the fast path');

/**
 * The encoder of the hot paths (every command and every remembered result goes through it): no
 * path strings built for error messages that are almost never needed; anything it cannot encode
 * throws `notFast`, and `write` encodes again to say where.
 */
function fast(value: unknown, depth: number): string {
  if (depth > depthMax) throw notFast;
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw notFast;
      return Object.is(value, -0) ? '0' : JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof CanonicalJsonText) return value.text;
      if (Array.isArray(value)) {
        let s = '[';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw notFast;
          s += i > 0 ? `,${fast(item, depth + 1)}` : fast(item, depth + 1);
        }
        return `${s}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw notFast;
      const record = value as Record<string, unknown>;
      const keys = sortKeys(Object.keys(record));
      let s = '{';
      let first = true;
      for (const k of keys) {
        const v = record[k];
        if (v === undefined) continue;
        s += `${first ? '' : ','}${quotedKey(k)}:${fast(v, depth + 1)}`;
        first = false;
      }
      return `${s}}`;
    }
    default:
      throw notFast;
  }
}

/**
 * Sorts an object's keys in place by UTF-16 code units (as Array.prototype.sort does): by
 * insertion for the few keys of a command or a result (sort() allocates a work array on every call,
 * and this runs for every command on every replica), by sort() beyond.
 */
function sortKeys(keys: string[]): string[] {
  if (keys.length > 24) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/** JSON-quoted keys, remembered: commands and results use a small vocabulary of keys. Bounded, as keys may come from input. */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 4096;

function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < QUOTED_KEYS_MAX && k.length <= 64) quotedKeys.set(k, q);
  }
  return q;
}

function write(value: unknown, out: string[], path: string, depth: number): void {
  if (depth > depthMax) throw new TypeError(`canonical JSON: nesting deeper than ${depthMax} at ${path}`);
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${value} at ${path} is not a finite number`);
      out.push(Object.is(value, -0) ? '0' : JSON.stringify(value));
      return;
    case 'object':
      if (value === null) {
        out.push('null');
        return;
      }
      if (value instanceof CanonicalJsonText) {
        out.push(value.text);
        return;
      }
      if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          const item: unknown = value[i];
          if (item === undefined) throw new TypeError(`canonical JSON: undefined array element at ${path}[${i}]`);
          write(item, out, `${path}[${i}]`, depth + 1);
        }
        out.push(']');
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new TypeError(`canonical JSON: ${path} is not a plain object`);
      }
      {
        const record = value as Record<string, unknown>;
        const keys = Object.keys(record)
          .filter((k) => record[k] !== undefined)
          .sort();
        out.push('{');
        keys.forEach((k, i) => {
          if (i > 0) out.push(',');
          out.push(JSON.stringify(k), ':');
          write(record[k], out, `${path}.${k}`, depth + 1);
        });
        out.push('}');
      }
      return;
    default:
      throw new TypeError(`canonical JSON: cannot encode a ${typeof value} at ${path}`);
  }
}
