// The nemesis plan: which faults, when. Pure and seeded — the same seed, nemesis, duration and
// nodes give the same windows. Jepsen's vocabulary: random halves, isolate one node, majorities
// ring, kill, pause; `mixed` draws from all of them.
import { randomInt, seededRandom, type RandomSource } from '../../../consensus/raft/index.ts';
import type { NemesisName } from '../options.ts';

/** One POST /faults body (API.md). */
export type FaultRequest =
  | { type: 'partition'; groups: string[][] }
  | { type: 'isolate'; node: string }
  /** Majorities ring (Jepsen): every node hears a majority, no two the same one; `nodes` is the ring's order. */
  | { type: 'ring'; nodes: string[] }
  | { type: 'kill'; node: string }
  | { type: 'pause'; node: string };

export type FaultKind = 'halves' | 'isolate' | 'ring' | 'kill' | 'pause';

export interface FaultWindow {
  /** Planned start and end, ms since the run started. */
  startMs: number;
  endMs: number;
  kind: FaultKind;
  /** e.g. "isolate n2", "halves n1,n3 | n2". */
  label: string;
  faults: FaultRequest[];
}

export interface SchedulePlan {
  nemesis: NemesisName;
  seed: number;
  durationMs: number;
  /** Node names, e.g. ['n1','n2','n3']. */
  nodes: readonly string[];
  faultOnMs: number;
  faultOffMs: number;
}

const NETWORK_KINDS: readonly FaultKind[] = ['halves', 'isolate', 'ring'];
const PROCESS_KINDS: readonly FaultKind[] = ['kill', 'pause'];

/**
 * The kinds each window draws from, in turn: `mixed` alternates network and process faults,
 * network first — a process fault's heal (a node restarting) can take seconds, and a short run
 * should still see both.
 */
const KIND_CYCLE_BY_NEMESIS: Record<NemesisName, ReadonlyArray<readonly FaultKind[]>> = {
  none: [],
  partition: [NETWORK_KINDS],
  kill: [['kill']],
  pause: [['pause']],
  mixed: [NETWORK_KINDS, PROCESS_KINDS],
};

/** A window shorter than this at the end of the run is not started. */
const WINDOW_MS_MIN = 500;
/** Each on/off period is its nominal length × [1 - JITTER, 1 + JITTER]. */
const JITTER = 0.2;
/** The nemesis PRNG stream is the run seed mixed with this, so it never equals a client's. */
const NEMESIS_STREAM = 0x6e656d65;

function shuffled<T>(rng: RandomSource, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const sorted = (xs: string[]) => [...xs].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

function faultsFor(kind: FaultKind, rng: RandomSource, nodes: readonly string[]): { label: string; faults: FaultRequest[] } {
  const order = shuffled(rng, nodes);
  const minority = Math.max(1, Math.floor((nodes.length - 1) / 2));
  switch (kind) {
    case 'halves': {
      const small = sorted(order.slice(0, Math.floor(nodes.length / 2)));
      const large = sorted(order.slice(Math.floor(nodes.length / 2)));
      return { label: `halves ${small.join(',')} | ${large.join(',')}`, faults: [{ type: 'partition', groups: [small, large] }] };
    }
    case 'isolate': {
      const node = order[0] as string;
      return { label: `isolate ${node}`, faults: [{ type: 'isolate', node }] };
    }
    case 'ring':
      return { label: `ring ${order.join('-')}`, faults: [{ type: 'ring', nodes: order }] };
    case 'kill':
    case 'pause': {
      const victims = sorted(order.slice(0, minority));
      return { label: `${kind} ${victims.join(',')}`, faults: victims.map((node) => ({ type: kind, node })) };
    }
  }
}

/** Off, on, off, on, … from the start: the run begins with a fault-free half period as a baseline. */
export function planFaultWindows(plan: SchedulePlan): FaultWindow[] {
  const cycle = KIND_CYCLE_BY_NEMESIS[plan.nemesis];
  if (cycle.length === 0) return [];
  if (plan.nodes.length < 2) throw new Error(`the ${plan.nemesis} nemesis needs at least 2 nodes, the cluster has ${plan.nodes.length}`);
  const rng = seededRandom((plan.seed ^ NEMESIS_STREAM) >>> 0);
  const jittered = (ms: number) => Math.round(ms * (1 - JITTER + 2 * JITTER * rng()));
  const windows: FaultWindow[] = [];
  let t = jittered(plan.faultOffMs / 2);
  let turn = 0;
  while (t + WINDOW_MS_MIN <= plan.durationMs) {
    // A majorities ring needs 3 nodes.
    const kinds = (cycle[turn++ % cycle.length] as readonly FaultKind[]).filter((k) => k !== 'ring' || plan.nodes.length >= 3);
    const kind = kinds[randomInt(rng, kinds.length)] as FaultKind;
    const endMs = Math.min(plan.durationMs, t + jittered(plan.faultOnMs));
    windows.push({ startMs: t, endMs, kind, ...faultsFor(kind, rng, plan.nodes) });
    t = endMs + jittered(plan.faultOffMs);
  }
  return windows;
}
