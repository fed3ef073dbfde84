// Streams as configuration against a real nats-server 2.9.10: idempotent apply, editable limits updated in
// place, the non-editable RePublish rule refused (or re-created on request), and the district feed captured.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanStream } from '../relay/stream_scan.ts';
import { EVENTS_STREAM } from '../subject.ts';
import { startServices, type TransportServices } from '../testing/services.ts';
import { applyStreams, StreamConfigError } from './apply.ts';
import { DISTRICTS_STREAM, districtFeedSubject, transportStreams } from './config.ts';

let services: TransportServices;
let nc: NatsConnection;
const SMALL = { eventsMaxBytes: 64 * 1024 ** 2, districtsMaxBytes: 32 * 1024 ** 2 };

beforeAll(async () => {
  services = await startServices({ nats: true });
  nc = await connect({ servers: services.nats!.urls });
});

afterAll(async () => {
  await nc?.close();
  await services?.stop();
});

describe('applyStreams', () => {
  it('creates, then leaves alone, then updates editable limits in place', async () => {
    expect(await applyStreams(nc, transportStreams(SMALL))).toEqual([
      { name: DISTRICTS_STREAM, action: 'created' },
      { name: EVENTS_STREAM, action: 'created' },
    ]);
    expect((await applyStreams(nc, transportStreams(SMALL))).map((r) => r.action)).toEqual(['unchanged', 'unchanged']);
    const changed = await applyStreams(nc, transportStreams({ ...SMALL, eventsMaxAgeMs: 3_600_000, duplicateWindowMs: 30_000 }));
    expect(changed.map((r) => r.action)).toEqual(['updated', 'updated']);
    const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
    expect(info.config.max_age).toBe(3_600_000 * 1e6);
    expect(info.config.duplicate_window).toBe(30_000 * 1e6);
  });

  it('republishes canon by district into the DISTRICTS capture stream, Msg-Id and headers along', async () => {
    const js = jetstream(nc);
    const h = headers();
    h.set('Nimmer-Canon-Id', '42');
    await js.publish('nimmerverse.events.ev-9.district.harbour.scene.s1', '{"x":1}', { msgID: '00000000000000AA', headers: h });
    await js.publish('nimmerverse.events.ev-9.district.market.scene.s2', '{"x":2}', { msgID: '00000000000000AB' });
    const deadline = Date.now() + 10_000;
    let feed = await scanStream(nc, DISTRICTS_STREAM);
    while (feed.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      feed = await scanStream(nc, DISTRICTS_STREAM);
    }
    expect(feed.map((m) => [m.subject, m.msgId])).toEqual([
      ['nimmerverse.district.harbour.event.ev-9.scene.s1', '00000000000000AA'],
      ['nimmerverse.district.market.event.ev-9.scene.s2', '00000000000000AB'],
    ]);
    const jsm = await jetstreamManager(nc);
    const harbour = await jsm.streams.getMessage(DISTRICTS_STREAM, { last_by_subj: 'nimmerverse.district.harbour.event.ev-9.scene.s1' });
    expect(harbour!.header.get('Nimmer-Canon-Id')).toBe('42');
    expect(harbour!.header.get('Nats-Subject')).toBe('nimmerverse.events.ev-9.district.harbour.scene.s1');
    expect(districtFeedSubject('harbour')).toBe('nimmerverse.district.harbour.>');
  });

  it('refuses to change the RePublish rule of a live stream unless asked to re-create it', async () => {
    const decls = transportStreams(SMALL);
    const events = decls.find((d) => d.name === EVENTS_STREAM)!;
    const changed = decls.map((d) =>
      d.name === EVENTS_STREAM ? { ...events, republish: { src: events.republish!.src, dest: 'nimmerverse.district.{{wildcard(2)}}.scene.{{wildcard(3)}}.event.{{wildcard(1)}}', headersOnly: false } } : d,
    );
    await expect(applyStreams(nc, changed)).rejects.toThrow(StreamConfigError);
    await expect(applyStreams(nc, changed)).rejects.toThrow(/recreate/);
    const result = await applyStreams(nc, changed, { recreate: [EVENTS_STREAM] });
    expect(result.find((r) => r.name === EVENTS_STREAM)?.action).toBe('recreated');
    const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
    expect(info.config.republish?.dest).toContain('.scene.{{wildcard(3)}}.event.');
  });

  it('cannot express a per-faction feed: nats-server 2.9.10 rejects a rule that drops subject tokens', async () => {
    // A feed keyed by anything but the subject's own tokens would have to drop (or invent) tokens.
    await expect(
      applyStreams(nc, [
        {
          name: 'FACTION_PROBE',
          subjects: ['probe.events.>'],
          maxAgeMs: 60_000,
          maxBytes: 1024 * 1024,
          storage: 'memory',
          republish: { src: 'probe.events.*.district.*.scene.*', dest: 'probe.faction.{{wildcard(2)}}' },
        },
      ]),
    ).rejects.toThrow();
  });
});
