// The payload of a 'confChange' log entry. Conf changes are rare, so a self-describing JSON form
// (validated on decode) is worth more than compactness.
import { ConfChangeError } from './errors.ts';
import type { ConfChange, ConfChangeSingle, ConfChangeTransition } from './types.ts';

const TRANSITIONS: ReadonlySet<string> = new Set(['auto', 'jointImplicit', 'jointExplicit']);
const TYPES: ReadonlySet<string> = new Set(['addVoter', 'removeVoter', 'addLearner']);

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const json = {
    t: cc.transition,
    c: cc.changes.map((ch) => [ch.type, ch.replica]),
    x: cc.context ? Buffer.from(cc.context).toString('base64') : undefined,
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new ConfChangeError('conf change entry is not valid JSON');
  }
  const o = raw as { t?: unknown; c?: unknown; x?: unknown };
  if (typeof o.t !== 'string' || !TRANSITIONS.has(o.t) || !Array.isArray(o.c)) {
    throw new ConfChangeError('conf change entry is malformed');
  }
  const changes: ConfChangeSingle[] = o.c.map((pair: unknown) => {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || !TYPES.has(pair[0]) || !Number.isSafeInteger(pair[1]) || pair[1] < 0) {
      throw new ConfChangeError('conf change entry has a malformed change');
    }
    return { type: pair[0] as ConfChangeSingle['type'], replica: pair[1] as number };
  });
  const cc: ConfChange = { transition: o.t as ConfChangeTransition, changes };
  if (typeof o.x === 'string') cc.context = new Uint8Array(Buffer.from(o.x, 'base64'));
  return cc;
}
