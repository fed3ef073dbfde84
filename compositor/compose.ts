// Composition as pure logic around the model calls: plan (event → slot requests), then assemble
// (slot results → canon rows). With the built-in model the whole composition is a pure function of
// (event, catalogue, participants): any worker composes the same canon for the same event.
import { createHash } from 'node:crypto';
import type { Catalogue, SlotKind } from '../catalogue/index.ts';
import type { CommittedEvent, Unfolding, UnfoldedSlot } from '../directors/index.ts';
import type { RetentionClass } from '../transport/index.ts';
import type { SlotRequest, SlotResult } from './adapters/model_adapter.ts';
import type { Allocation } from './tiers.ts';

export interface CompositionJob {
  readonly event: CommittedEvent;
  readonly unfolding: Unfolding;
}

export interface PlannedSlot {
  readonly slot: UnfoldedSlot;
  readonly district: string;
  readonly scene: string;
  readonly request: SlotRequest;
}

export interface ComposedSlot {
  readonly planned: PlannedSlot;
  readonly allocation: Allocation;
  readonly result: SlotResult;
}

/** A row of nimmer.canon, as the compositor writes it. */
export interface CanonRow {
  readonly event_uid: string;
  readonly district: string;
  readonly scene: string;
  readonly slot: string;
  readonly participants: readonly string[];
  readonly retention: RetentionClass;
  readonly body: Record<string, unknown>;
}

export const AUDIT_CHOICES = ['pass', 'warn', 'block'] as const;
export const GATE_CHOICES = ['a', 'b', 'c'] as const;
const VOICES_MAX = 16;

function choicesFor(kind: SlotKind, participants: readonly string[], effects: Readonly<Record<string, number>>): string[] {
  switch (kind) {
    case 'audit':
      return [...AUDIT_CHOICES];
    case 'gate':
      return [...GATE_CHOICES];
    case 'voice':
      return ['narrator', ...participants.slice(0, VOICES_MAX)];
    case 'salience': {
      const axes = Object.keys(effects).sort();
      return axes.length > 0 ? axes : ['none'];
    }
    default:
      return [];
  }
}

function effectsOf(job: CompositionJob, catalogue: Catalogue): Readonly<Record<string, number>> {
  return job.event.effects ?? catalogue.templates.find((t) => t.id === job.event.template)?.effects ?? {};
}

/** Every slot of every scene of every district, in play order, as a model request. */
export function planComposition(job: CompositionJob, catalogue: Catalogue): PlannedSlot[] {
  if (job.unfolding.eventUid !== job.event.uid) throw new Error(`invariant: unfolding of ${job.unfolding.eventUid} paired with event ${job.event.uid}`);
  const effects = effectsOf(job, catalogue);
  const out: PlannedSlot[] = [];
  for (const d of job.unfolding.districts) {
    for (const s of d.scenes) {
      for (const slot of s.slots) {
        out.push({
          slot,
          district: d.district,
          scene: s.scene,
          request: {
            eventUid: job.event.uid,
            slotUid: slot.uid,
            kind: slot.kind,
            tier: slot.modelTier,
            templateTitle: job.unfolding.templateTitle,
            sceneTitle: s.title,
            participants: d.participants,
            choices: choicesFor(slot.kind, d.participants, effects),
          },
        });
      }
    }
  }
  if (out.length !== job.unfolding.slotCount) throw new Error(`invariant: planned ${out.length} slots, the unfolding has ${job.unfolding.slotCount}`);
  return out;
}

function retentionOf(kind: SlotKind, majorArc: boolean): RetentionClass {
  if (kind === 'bark') return 'ephemeral';
  if (majorArc && (kind === 'narration' || kind === 'dialogue')) return 'permanent';
  return 'standard';
}

/** The verifier flag an audit raises for a warn/block verdict: one of the catalogue's flags of that severity, chosen by the slot UID. */
function flagFor(verdict: string, slotUid: string, catalogue: Catalogue): string | null {
  if (verdict === 'pass') return null;
  const flags = catalogue.flags.filter((f) => f.severity === verdict);
  if (flags.length === 0) return null;
  return flags[createHash('sha256').update(slotUid).digest().readUInt32BE(0) % flags.length]!.id;
}

/**
 * Canon rows for the composed slots. A scene whose audit blocks publishes only its audit row (the
 * verdict, which the director reads to decide the outcome), never the blocked text.
 */
export function assembleCanon(job: CompositionJob, catalogue: Catalogue, composed: readonly ComposedSlot[]): CanonRow[] {
  const majorArc = catalogue.templates.find((t) => t.id === job.event.template)?.tier === 'major_arc';
  const blocked = new Set<string>();
  for (const c of composed) {
    if (c.planned.slot.kind === 'audit' && c.result.output === 'block') blocked.add(`${c.planned.district}.${c.planned.scene}`);
  }
  const participantsOf = new Map(job.unfolding.districts.map((d) => [d.district, d.participants]));
  const rows: CanonRow[] = [];
  for (const c of composed) {
    const { slot, district, scene } = c.planned;
    const isAudit = slot.kind === 'audit';
    if (!isAudit && blocked.has(`${district}.${scene}`)) continue;
    const body: Record<string, unknown> = {
      kind: slot.kind,
      tier: c.allocation.tier,
      requestedTier: c.allocation.requested,
      demoted: c.allocation.demoted,
      model: c.result.model,
    };
    if (isAudit) {
      body.verdict = c.result.output;
      body.flags = [flagFor(c.result.output, slot.uid, catalogue)].filter((f) => f !== null);
    } else if (c.planned.request.choices.length > 0) body.decision = c.result.output;
    else body.text = c.result.output;
    rows.push({ event_uid: job.event.uid, district, scene, slot: slot.slot, participants: participantsOf.get(district) ?? [], retention: retentionOf(slot.kind, majorArc), body });
  }
  return rows;
}

/**
 * The canon of an event that could not be composed after every attempt: one blocking audit row (on
 * the first audit slot of its first district), so its director decides `failure` and the event ends.
 */
export function failClosedCanon(job: CompositionJob, attempts: number): CanonRow[] {
  const d = job.unfolding.districts[0];
  if (d === undefined) throw new Error(`invariant: the unfolding of ${job.event.uid} has no district`);
  const scene = d.scenes.find((s) => s.slots.some((sl) => sl.kind === 'audit')) ?? d.scenes[0]!;
  const slot = scene.slots.find((sl) => sl.kind === 'audit') ?? scene.slots[0]!;
  return [
    {
      event_uid: job.event.uid,
      district: d.district,
      scene: scene.scene,
      slot: slot.slot,
      participants: d.participants,
      retention: 'standard',
      body: { kind: 'audit', verdict: 'block', flags: [], failedClosed: true, attempts, reason: `composition failed ${attempts} times; the event fails closed` },
    },
  ];
}
