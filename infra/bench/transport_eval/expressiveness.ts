// Section 1: what nats-server 2.9.10 can and cannot route, re-probed on this machine's server. The
// full checks are tests (transport/streams/streams.test.ts); this probe asks the server directly.
import { jetstream, jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DISTRICTS_STREAM, EVENTS_STREAM } from '../../../transport/index.ts';

export interface ProbeResult {
  what: string;
  outcome: 'accepted' | 'rejected' | 'accepted but ignored';
  detail: string;
}

export interface ExpressivenessReport {
  serverVersion: string;
  probes: ProbeResult[];
  delivered: { published: string; republishedAs: string | null; capturedIn: string | null }[];
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 160);

async function tryStream(nc: NatsConnection, what: string, cfg: Partial<StreamConfig> & { name: string }, ignoredField?: string): Promise<ProbeResult> {
  const jsm = await jetstreamManager(nc);
  try {
    const info = await jsm.streams.add(cfg);
    await jsm.streams.delete(cfg.name);
    if (ignoredField !== undefined && (info.config as unknown as Record<string, unknown>)[ignoredField] === undefined) {
      return { what, outcome: 'accepted but ignored', detail: `the server's stream config has no \`${ignoredField}\`` };
    }
    return { what, outcome: 'accepted', detail: info.config.republish ? `republish ${info.config.republish.src} → ${info.config.republish.dest}` : 'created' };
  } catch (e) {
    return { what, outcome: 'rejected', detail: errText(e) };
  }
}

export async function probeExpressiveness(nc: NatsConnection): Promise<ExpressivenessReport> {
  const jsm = await jetstreamManager(nc);
  const probes: ProbeResult[] = [];
  probes.push(
    await tryStream(nc, 'RePublish that reorders tokens (district first: the DISTRICTS feed)', {
      name: 'PROBE_REORDER',
      subjects: ['probe1.events.*.district.*.scene.*'],
      republish: { src: 'probe1.events.*.district.*.scene.*', dest: 'probe1.district.{{wildcard(2)}}.event.{{wildcard(1)}}.scene.{{wildcard(3)}}' },
    }),
  );
  probes.push(
    await tryStream(nc, 'RePublish that drops tokens (a per-faction or per-district-only feed)', {
      name: 'PROBE_DROP',
      subjects: ['probe2.events.*.district.*.scene.*'],
      republish: { src: 'probe2.events.*.district.*.scene.*', dest: 'probe2.faction.{{wildcard(2)}}' },
    }),
  );
  probes.push(
    await tryStream(nc, 'RePublish with a literal token not in the source (a faction name)', {
      name: 'PROBE_LITERAL',
      subjects: ['probe3.events.*.district.*.scene.*'],
      republish: { src: 'probe3.events.*.district.*.scene.*', dest: 'probe3.faction.red.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}' },
    }),
  );
  probes.push(
    await tryStream(
      nc,
      'Stream subject transform (2.10 feature)',
      { name: 'PROBE_TRANSFORM', subjects: ['probe4.>'], subject_transform: { src: 'probe4.*.>', dest: 'probe4x.{{wildcard(1)}}.>' } } as Partial<StreamConfig> & { name: string },
      'subject_transform',
    ),
  );
  // A consumer with several filters (2.10): does 2.9.10 keep them?
  try {
    const ci = await jsm.consumers.add(EVENTS_STREAM, { durable_name: 'probe_multi', filter_subjects: ['nimmerverse.events.a.>', 'nimmerverse.events.b.>'] } as Parameters<typeof jsm.consumers.add>[1]);
    const kept = (ci.config as unknown as Record<string, unknown>).filter_subjects;
    probes.push({ what: 'Consumer with several filter subjects (2.10 feature)', outcome: kept === undefined ? 'accepted but ignored' : 'accepted', detail: kept === undefined ? 'created with no filter at all: it would deliver the whole stream' : JSON.stringify(kept) });
    await jsm.consumers.delete(EVENTS_STREAM, 'probe_multi');
  } catch (e) {
    probes.push({ what: 'Consumer with several filter subjects (2.10 feature)', outcome: 'rejected', detail: errText(e) });
  }
  // Editing the RePublish rule of a live stream.
  try {
    const cfg = (await jsm.streams.info(EVENTS_STREAM)).config;
    await jsm.streams.update(EVENTS_STREAM, { ...cfg, republish: { src: 'nimmerverse.events.>', dest: 'probe5.>' } });
    probes.push({ what: 'Editing the RePublish rule of a live stream', outcome: 'accepted', detail: 'updated' });
  } catch (e) {
    probes.push({ what: 'Editing the RePublish rule of a live stream', outcome: 'rejected', detail: errText(e) });
  }

  // Delivered subjects: publish canon-shaped subjects, watch the republished copy and the capture stream.
  const js = jetstream(nc);
  const sub = nc.subscribe('nimmerverse.district.>');
  const seen = new Map<string, string>();
  void (async () => {
    for await (const m of sub) seen.set(m.headers?.get('Nats-Subject') ?? '', m.subject);
  })();
  const published = ['nimmerverse.events.ev-probe.district.harbour.scene.bread_line', 'nimmerverse.events.ev-probe2.district.market.scene.s0'];
  const before = (await jsm.streams.info(DISTRICTS_STREAM)).state.messages;
  for (const s of published) await js.publish(s, new TextEncoder().encode('{}'), { msgID: `probe-${s}` });
  await nc.flush();
  const deadline = Date.now() + 5_000;
  while (seen.size < published.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  sub.unsubscribe();
  const captured = (await jsm.streams.info(DISTRICTS_STREAM)).state.messages - before;
  const delivered = published.map((p) => ({ published: p, republishedAs: seen.get(p) ?? null, capturedIn: captured >= published.length ? DISTRICTS_STREAM : null }));
  return { serverVersion: nc.info?.version ?? 'unknown', probes, delivered };
}
