// JetStream streams as data: what the transport needs from the server, applied idempotently by apply.ts.
//
// EVENTS holds canon on nimmerverse.events.<gm_event>.district.<district>.scene.<scene> (the subjects
// nimmer.check_subject admits). Its RePublish rule (nats-server 2.9.10: one per stream, not editable after
// creation) re-addresses each message by district first; the DISTRICTS capture stream stores those, so a
// district's feed is a durable filter `nimmerverse.district.<d>.>` on it. A per-faction feed cannot be
// expressed on 2.9.10: a rule only reorders the source subject's tokens, the subject carries no faction, and
// subject transforms and multi-filter consumers do not exist yet (FIELD-NOTES) — see transport/README.md.
import { z } from 'zod';
import { EVENTS_PREFIX, EVENTS_STREAM, EVENTS_SUBJECTS, SUBJECT_ROOT } from '../subject.ts';

export const DISTRICTS_STREAM = 'DISTRICTS';
export const DISTRICT_FEED_PREFIX = `${SUBJECT_ROOT}.district`;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const GIB = 1024 ** 3;

export const StreamDeclSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  subjects: z.array(z.string().min(1)).min(1),
  storage: z.enum(['file', 'memory']).default('file'),
  replicas: z.number().int().min(1).max(5).default(1),
  /** Pruning limits: messages older than this, or beyond this many bytes (oldest first), are dropped. */
  maxAgeMs: z.number().int().min(1000),
  maxBytes: z.number().int().min(1024),
  /** Nats-Msg-Id dedup window: the relay's restarts and takeovers must fit in it. */
  duplicateWindowMs: z.number().int().min(100).default(2 * MINUTE_MS),
  republish: z.object({ src: z.string().min(1), dest: z.string().min(1), headersOnly: z.boolean().default(false) }).optional(),
});
export type StreamDeclInput = z.input<typeof StreamDeclSchema>;
export type StreamDecl = z.output<typeof StreamDeclSchema>;

/** The republished address of a canon message: district first, so one district's feed is one filter. */
export const DISTRICT_REPUBLISH = {
  src: `${EVENTS_PREFIX}.*.district.*.scene.*`,
  dest: `${DISTRICT_FEED_PREFIX}.{{wildcard(2)}}.event.{{wildcard(1)}}.scene.{{wildcard(3)}}`,
} as const;

export function districtFeedSubject(district: string): string {
  return `${DISTRICT_FEED_PREFIX}.${district}.>`;
}

export interface TransportStreamsOptions {
  replicas?: number;
  eventsMaxAgeMs?: number;
  eventsMaxBytes?: number;
  districtsMaxAgeMs?: number;
  districtsMaxBytes?: number;
  duplicateWindowMs?: number;
}

/** The transport's streams (the defaults fit the launcher's 4 GiB JetStream file store),  in the order they must be created (a capture stream before the rule that feeds it). */
export function transportStreams(options: TransportStreamsOptions = {}): StreamDecl[] {
  const common = { replicas: options.replicas ?? 1, duplicateWindowMs: options.duplicateWindowMs ?? 2 * MINUTE_MS };
  return [
    StreamDeclSchema.parse({ name: DISTRICTS_STREAM, subjects: [`${DISTRICT_FEED_PREFIX}.>`], maxAgeMs: options.districtsMaxAgeMs ?? 24 * HOUR_MS, maxBytes: options.districtsMaxBytes ?? GIB, ...common }),
    StreamDeclSchema.parse({
      name: EVENTS_STREAM,
      subjects: [EVENTS_SUBJECTS],
      maxAgeMs: options.eventsMaxAgeMs ?? 7 * 24 * HOUR_MS,
      maxBytes: options.eventsMaxBytes ?? 2 * GIB,
      ...common,
      republish: DISTRICT_REPUBLISH,
    }),
  ];
}
