// The reply-subject reader of the lean ordered consumer: both subject shapes servers send, and
// anything else refused (a status message must never be taken for a delivery).
import { describe, expect, it } from 'vitest';
import { readSequences } from './ordered_stream.ts';

describe('readSequences', () => {
  it('reads the stream and delivery sequences of both reply shapes', () => {
    const out = { streamSeq: 0, deliverSeq: 0 };
    expect(readSequences('$JS.ACK.EVENTS.oc_x_1.1.1234.56.1796302669046188815.7', out)).toBe(true);
    expect(out).toEqual({ streamSeq: 1234, deliverSeq: 56 });
    expect(readSequences('$JS.ACK.hub.ACCHASH.EVENTS.oc_x_2.3.98765432101.2.1796302669046188815.0', out)).toBe(true);
    expect(out).toEqual({ streamSeq: 98765432101, deliverSeq: 2 });
    expect(readSequences('$JS.ACK.hub.ACCHASH.EVENTS.oc_x_2.3.11.12.1796302669046188815.0.rnd', out)).toBe(true);
    expect(out).toEqual({ streamSeq: 11, deliverSeq: 12 });
  });

  it('refuses other shapes and non-digits without touching the output', () => {
    const out = { streamSeq: 5, deliverSeq: 6 };
    for (const reply of ['', '$JS.ACK.EVENTS.c.1.2', '$JS.ACK.EVENTS.c.1.x2.3.4.5', '$JS.ACK.EVENTS.c.1..3.4.5', '$JS.ACK.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q']) {
      expect(readSequences(reply, out)).toBe(false);
    }
    expect(out).toEqual({ streamSeq: 5, deliverSeq: 6 });
  });
});
