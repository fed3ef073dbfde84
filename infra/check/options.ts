// `nimmer check`'s settings: one zod schema, defaults in one place. Every field a CLI flag sets
// is here, so a run's report can say exactly how to replay it.
import { z } from 'zod';

export const WORKLOADS = ['register', 'bank', 'crdt', 'pipeline'] as const;
export const NEMESES = ['none', 'partition', 'kill', 'pause', 'mixed'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];
export type NemesisName = (typeof NEMESES)[number];

/** The seed range: 32 bits, what the PRNG takes. */
export const SEED_MAX = 2 ** 32 - 1;

export const CheckOptionsSchema = z.strictObject({
  workload: z.enum(WORKLOADS).default('register'),
  nemesis: z.enum(NEMESES).default('none'),
  /** How long clients run (the nemesis acts during this time only). */
  timeMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
  clients: z.number().int().min(1).max(256).default(10),
  /** Where the report goes; default check-results/<workload>-<nemesis>-<seed>. */
  outDir: z.string().min(1).optional(),
  /** Absent: a random seed, printed at the start. */
  seed: z.number().int().min(0).max(SEED_MAX).optional(),
  /** The run fails with fewer acknowledged (ok) operations than this. */
  minAcked: z.number().int().min(0).default(500),
  /** Fault windows: on for about faultOnMs, off for about faultOffMs (each ±20 %, seeded). */
  faultOnMs: z.number().int().min(100).max(600_000).default(5_000),
  faultOffMs: z.number().int().min(100).max(600_000).default(5_000),
  /** After the final heal, wait this long (and until GET /health is ok) before the final reads. */
  recoveryMs: z.number().int().min(0).max(600_000).default(10_000),
  /** One client request; past it the operation is indeterminate (info). */
  requestTimeoutMs: z.number().int().min(100).max(120_000).default(3_000),
  /** How long eventual state may take to converge after the heal before it is a violation. */
  convergenceTimeoutMs: z.number().int().min(100).max(600_000).default(60_000),
  /** Wall-clock limit of the linearizability search (an exhausted search is 'unknown', a failure). */
  checkTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
  /** Check a running cluster (a controller URL) instead of starting one. */
  url: z.url().optional(),
  /** Shape of the cluster the check starts (ignored with url). */
  nodes: z.number().int().min(1).max(64).default(3),
  shards: z.number().int().min(1).max(256).default(4),
  /** Keep the started cluster's data dir (it is always kept when the run fails). */
  keepData: z.boolean().default(false),
});

export type CheckOptionsInput = z.input<typeof CheckOptionsSchema>;
export type CheckOptions = z.output<typeof CheckOptionsSchema>;

export class CheckConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckConfigError';
  }
}

export function parseCheckOptions(input: CheckOptionsInput): CheckOptions {
  const r = CheckOptionsSchema.safeParse(input);
  if (!r.success) {
    throw new CheckConfigError(`invalid check options: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

const formatMs = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** The command line that runs these options again with this seed (defaults left out). */
export function replayCommand(options: CheckOptions, seed: number): string {
  const defaults = CheckOptionsSchema.parse({});
  const flags: string[] = [`--workload ${options.workload}`, `--nemesis ${options.nemesis}`, `--time ${formatMs(options.timeMs)}`, `--clients ${options.clients}`, `--seed ${seed}`];
  const durations: Array<[keyof CheckOptions, string]> = [
    ['faultOnMs', '--fault-on'],
    ['faultOffMs', '--fault-off'],
    ['recoveryMs', '--recovery'],
    ['requestTimeoutMs', '--request-timeout'],
    ['convergenceTimeoutMs', '--convergence-timeout'],
    ['checkTimeoutMs', '--check-timeout'],
  ];
  for (const [key, flag] of durations) {
    if (options[key] !== defaults[key]) flags.push(`${flag} ${formatMs(options[key] as number)}`);
  }
  if (options.minAcked !== defaults.minAcked) flags.push(`--min-acked ${options.minAcked}`);
  if (options.url !== undefined) flags.push(`--url ${options.url}`);
  else {
    if (options.nodes !== defaults.nodes) flags.push(`--nodes ${options.nodes}`);
    if (options.shards !== defaults.shards) flags.push(`--shards ${options.shards}`);
  }
  return `nimmer check ${flags.join(' ')}`;
}
