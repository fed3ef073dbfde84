import { describe, expect, it } from 'vitest';
import { TRANSPORT_LIMITS_DEFAULT, resolveTransportLimits } from './limits.ts';

describe('resolveTransportLimits', () => {
  it('defaults are valid and overrides apply', () => {
    expect(resolveTransportLimits()).toEqual(TRANSPORT_LIMITS_DEFAULT);
    expect(resolveTransportLimits({ queueFramesMax: 10 }).queueFramesMax).toBe(10);
  });

  it('names each inconsistent limit and what to do', () => {
    expect(() => resolveTransportLimits({ frameBytesMax: 4 << 20 })).toThrow(/batchBytesMax 2097152 cannot hold one frame.*raise it to at least/);
    expect(() => resolveTransportLimits({ peerDeadMs: 300 })).toThrow(/peerDeadMs 300 must be at least twice heartbeatIntervalMs 200/);
    expect(() => resolveTransportLimits({ linkSilenceCloseMs: 500 })).toThrow(/linkSilenceCloseMs 500 must be at least peerDeadMs 1000/);
    expect(() => resolveTransportLimits({ queueFramesMax: 0 })).toThrow(/queueFramesMax/);
    expect(() => resolveTransportLimits({ bogus: 1 } as never)).toThrow(/bogus/);
  });
});
