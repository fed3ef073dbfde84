import { describe, expect, it } from 'vitest';
import {
  commandFingerprint,
  entryFingerprint,
  decodeCommand,
  decodeGmCommand,
  decodeMetaCommand,
  encodeCommand,
  errorCodeHttpStatus,
  ERROR_CODES,
  parseGmCommand,
  parseMetaCommand,
  type GmCommand,
  type MetaCommand,
} from './commands.ts';
import { shardLimits } from './limits.ts';
import { canonicalJson } from './canonical_json.ts';

const meta: MetaCommand = {
  type: 'createShard',
  commandId: 'req-1',
  key: { geography: 'north', theme: 'political', tier: '*', faction: '*' },
  replicas: [1, 2, 3],
};
const gm: GmCommand = { type: 'casAxis', commandId: 'req-2', axis: 'order', expect: 1, value: 2 };

describe('encodeCommand / decodeCommand', () => {
  it('round-trips commands of both groups', () => {
    expect(decodeMetaCommand(encodeCommand(meta))).toEqual({ ok: true, command: meta, text: canonicalJson(meta) });
    expect(decodeGmCommand(encodeCommand(gm))).toEqual({ ok: true, command: gm, text: canonicalJson(gm) });
    expect(decodeCommand(encodeCommand(meta))).toMatchObject({ ok: true, command: meta });
    expect(decodeCommand(encodeCommand(gm))).toMatchObject({ ok: true, command: gm });
  });

  it('fingerprints a log entry from its text, as commandFingerprint does the command', () => {
    for (const cmd of [meta, gm]) {
      const decoded = decodeCommand(encodeCommand(cmd));
      if (!decoded.ok) throw new Error(decoded.message);
      expect(entryFingerprint(decoded)).toBe(commandFingerprint(cmd));
      expect(entryFingerprint({ command: cmd })).toBe(commandFingerprint(cmd));
    }
  });

  it('encodes canonically: key order does not change the bytes or the fingerprint', () => {
    const reordered = { replicas: [1, 2, 3], key: { faction: '*', tier: '*', theme: 'political', geography: 'north' }, commandId: 'req-1', type: 'createShard' } as MetaCommand;
    expect(encodeCommand(reordered)).toEqual(encodeCommand(meta));
    expect(commandFingerprint(reordered)).toBe(commandFingerprint(meta));
    expect(commandFingerprint({ ...meta, replicas: [1, 2] })).not.toBe(commandFingerprint(meta));
  });

  it('keeps the groups apart', () => {
    expect(decodeGmCommand(encodeCommand(meta))).toMatchObject({ ok: false, message: expect.stringMatching(/unknown GM command type "createShard"/) });
    expect(decodeMetaCommand(encodeCommand(gm))).toMatchObject({ ok: false, message: expect.stringMatching(/unknown meta command type "casAxis"/) });
  });

  it('explains what is wrong, with paths', () => {
    expect(parseMetaCommand({ ...meta, replicas: [0], extra: 1 })).toMatchObject({ ok: false, message: expect.stringMatching(/^invalid createShard command: .*replicas\.0: node ids start at 1/) });
    expect(parseGmCommand({ ...gm, commandId: '' })).toMatchObject({ ok: false, message: expect.stringMatching(/commandId must match/) });
    expect(parseGmCommand({ ...gm, value: 2e9 })).toMatchObject({ ok: false, message: expect.stringMatching(/value: must be ≤ 1000000000/) });
    expect(parseGmCommand('setAxis')).toMatchObject({ ok: false, message: expect.stringMatching(/must be a JSON object/) });
  });

  it('refuses oversized and non-UTF-8 commands', () => {
    expect(decodeGmCommand(new Uint8Array(shardLimits.gmCommandBytesMax + 1))).toMatchObject({ ok: false, message: expect.stringMatching(/at most/) });
    expect(decodeGmCommand(new Uint8Array([0xc3, 0x28]))).toMatchObject({ ok: false, message: expect.stringMatching(/not UTF-8 JSON/) });
  });
});

describe('error codes', () => {
  it('map to 4xx statuses', () => {
    for (const code of ERROR_CODES) expect(errorCodeHttpStatus[code]).toBeGreaterThanOrEqual(400);
    expect(errorCodeHttpStatus).toEqual({ invalid: 400, not_found: 404, conflict: 409 });
  });
});
