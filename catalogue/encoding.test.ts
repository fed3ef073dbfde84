import { describe, expect, it } from 'vitest';
import { canonicalJson, CanonicalJsonText } from './canonical-json.ts';
import { CatalogueError, catalogueHash, decodeCatalogue, defaultCatalogue, encodeCatalogue, validateCatalogue, type CatalogueDocument } from './index.ts';
import { fixtureDocument } from './testing/fixture.ts';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytesOf = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Rebuilds every object with its keys in reverse order, arrays untouched. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
  }
  return value;
}

describe('canonical JSON', () => {
  it('sorts keys at every depth and leaves out whitespace and undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('is independent of the order keys were inserted in', () => {
    const doc = fixtureDocument();
    expect(canonicalJson(reverseKeys(doc))).toBe(canonicalJson(doc));
  });

  it('writes numbers the ECMAScript way, with -0 as 0', () => {
    expect(canonicalJson([1.5, -0, 1e21, 0.1, -3])).toBe('[1.5,0,1e+21,0.1,-3]');
  });

  it('refuses values JSON cannot carry exactly', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow('$.a is not a finite number');
    expect(() => canonicalJson([1, undefined])).toThrow('undefined array element at $[1]');
    expect(() => canonicalJson({ d: new Date(0) })).toThrow('$.d is not a plain object');
    expect(() => canonicalJson({ n: 1n })).toThrow('cannot encode a bigint');
    expect(() => canonicalJson({ deep: { ok: [1, { bad: () => 1 }] } })).toThrow('cannot encode a function at $.deep.ok[1].bad');
  });

  it('nests 64 levels deep and no deeper', () => {
    const nest = (levels: number): unknown => (levels === 0 ? 1 : [nest(levels - 1)]);
    expect(canonicalJson(nest(64))).toBe(`${'['.repeat(64)}1${']'.repeat(64)}`);
    expect(() => canonicalJson(nest(65))).toThrow('nesting deeper than 64 at $[0]');
  });

  it('writes pre-encoded text as is', () => {
    expect(canonicalJson({ b: new CanonicalJsonText('[1,{"a":2}]'), a: 'x' })).toBe('{"a":"x","b":[1,{"a":2}]}');
  });

  it('agrees with sorting keys and JSON.stringify on random values (seeded)', () => {
    const seed = 20261203;
    let state = seed;
    const rnd = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const keys = ['a', 'B', 'é', 'aa', '', 'z"q', '\u0001', '10', '9', 'ω'];
    const gen = (depth: number): unknown => {
      const r = rnd();
      if (depth > 4 || r < 0.3) return [rnd() * 1e6 - 5e5, 'str\n"é', true, false, null, 0, 2 ** 60][Math.floor(rnd() * 7)];
      if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 5) }, () => [keys[Math.floor(rnd() * keys.length)], gen(depth + 1)]));
    };
    // The reference writes keys itself: an object would put integer-like keys ('10', '9') first.
    const reference = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(reference).join(',')}]`
        : v !== null && typeof v === 'object'
          ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${reference((v as Record<string, unknown>)[k])}`).join(',')}}`
          : JSON.stringify(v);
    for (let i = 0; i < 500; i++) {
      const v = gen(0);
      expect(canonicalJson(v), `seed ${seed}, value ${i}`).toBe(reference(v));
    }
  });
});

describe('encodeCatalogue / decodeCatalogue / catalogueHash', () => {
  it('pins the encoding of a small catalogue byte for byte', () => {
    const doc: CatalogueDocument = {
      version: 1,
      axes: [{ id: 'order', min: 0, max: 10, target: 5, tolerance: 2, description: 'Order.' }],
      templates: [],
      flags: [{ id: 'repetition', severity: 'warn', description: 'Repeats.' }],
    };
    expect(text(encodeCatalogue(validateCatalogue(doc)))).toBe(
      '{"axes":[{"description":"Order.","id":"order","max":10,"min":0,"target":5,"tolerance":2}],' +
        '"flags":[{"description":"Repeats.","id":"repetition","severity":"warn"}],"templates":[],"version":1}',
    );
  });

  it('round-trips, and the encoding is a fixed point', () => {
    const c = defaultCatalogue();
    const bytes = encodeCatalogue(c);
    const decoded = decodeCatalogue(bytes);
    expect(decoded).toEqual(c);
    expect(text(encodeCatalogue(decoded))).toBe(text(bytes));
  });

  it('hashes equal catalogues equally, whatever the key order or the order of the lists', () => {
    const doc = fixtureDocument();
    const reordered = reverseKeys(doc) as CatalogueDocument;
    reordered.axes.reverse();
    reordered.templates.reverse();
    reordered.flags.reverse();
    const a = catalogueHash(validateCatalogue(doc));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(catalogueHash(validateCatalogue(reordered))).toBe(a);
    // Defaults written out explicitly are the same catalogue.
    const explicit = fixtureDocument();
    explicit.templates[0]!.weight = 1;
    explicit.templates[0]!.cooldownTicks = 0;
    expect(catalogueHash(validateCatalogue(explicit))).toBe(a);
  });

  it('hashes differently when anything changes', () => {
    const a = catalogueHash(validateCatalogue(fixtureDocument()));
    const changes: ((d: CatalogueDocument) => void)[] = [
      (d) => void (d.version = 4),
      (d) => void (d.axes[0]!.target = 61),
      (d) => void (d.templates[0]!.effects['order'] = 6),
      (d) => void d.templates[1]!.scenes.reverse(), // scene order is the play order
      (d) => void (d.flags[0]!.severity = 'warn'),
    ];
    for (const change of changes) {
      const doc = fixtureDocument();
      change(doc);
      expect(catalogueHash(validateCatalogue(doc))).not.toBe(a);
    }
  });

  it('decodes non-canonical JSON into the same catalogue', () => {
    const pretty = bytesOf(JSON.stringify(reverseKeys(fixtureDocument()), null, 2));
    expect(catalogueHash(decodeCatalogue(pretty))).toBe(catalogueHash(validateCatalogue(fixtureDocument())));
  });

  it('rejects bytes that are not a catalogue, with a CatalogueError', () => {
    const reject = (bytes: Uint8Array, code: string): void => {
      expect(() => decodeCatalogue(bytes)).toThrow(CatalogueError);
      try {
        decodeCatalogue(bytes);
      } catch (e) {
        expect((e as CatalogueError).issues[0]!.code).toBe(code);
      }
    };
    reject(bytesOf('{"version":'), 'invalid_json');
    reject(new Uint8Array([0x7b, 0xff, 0x7d]), 'invalid_json');
    reject(bytesOf('{"version":1}'), 'schema');
    reject(new Uint8Array(4 * 1024 * 1024 + 1), 'too_large');
  });

  it('encodes only valid catalogues', () => {
    const broken = { ...validateCatalogue(fixtureDocument()), version: 0 };
    expect(() => encodeCatalogue(broken)).toThrow(CatalogueError);
  });
});

describe('canonicalJson key order', () => {
  /** The specification, written the slow way: keys sorted by Array.prototype.sort at every level. */
  const reference = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(reference).join(',')}]`;
    if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      return `{${Object.keys(o)
        .sort()
        .filter((k) => o[k] !== undefined)
        .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`)
        .join(',')}}`;
    }
    return JSON.stringify(v);
  };

  it('sorts any number of keys in any insertion order by UTF-16 code units, as sort() does', () => {
    // A fixed LCG: the same objects every run.
    let x = 12345;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = ['a', 'b', 'B', 'é', 'z', '_', '0', '𝄞', 'aa', 'ab', '', 'Ω'];
    for (let round = 0; round < 300; round++) {
      const n = Math.floor(rnd() * 40);
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) o[alphabet[Math.floor(rnd() * alphabet.length)]! + alphabet[Math.floor(rnd() * alphabet.length)]!] = rnd() < 0.2 ? { q: [i], p: undefined } : i;
      expect(canonicalJson(o), `round ${round}`).toBe(reference(o));
    }
  });
});
