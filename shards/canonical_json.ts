// Canonical JSON: object keys sorted, no whitespace, finite numbers only, undefined properties
// left out. The same state always yields the same bytes, whatever order it was built in, so two
// replicas that applied the same commands produce byte-identical snapshots.

const depthMax = 64;
const utf8Encoder = new TextEncoder();

export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, '$', 0);
  return out.join('');
}

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8Encoder.encode(canonicalJson(value));
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
    case 'object': {
      if (value === null) {
        out.push('null');
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
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`canonical JSON: ${path} is not a plain object`);
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
      return;
    }
    default:
      throw new TypeError(`canonical JSON: cannot encode a ${typeof value} at ${path}`);
  }
}
