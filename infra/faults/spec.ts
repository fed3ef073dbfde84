// The network faults a user asks for (bodies of POST /faults), validated with zod. Members are
// nodes (`n1`) and local NATS servers (`nats0`); a list may be given where one member is.
import { z } from 'zod';

export const NODE_NAME = /^n[1-9][0-9]{0,8}$/;
export const NATS_SERVER_NAME = /^nats[0-9]{1,2}$/;

export const NodeNameSchema = z
  .string({ error: 'a node is named like "n1"' })
  .regex(NODE_NAME, 'a node is named like "n1"');

const MemberSchema = z
  .string({ error: 'a member is a node ("n1") or a local NATS server ("nats0")' })
  .refine((s) => NODE_NAME.test(s) || NATS_SERVER_NAME.test(s), 'a member is a node ("n1") or a local NATS server ("nats0")');

const MEMBERS_MAX = 1000;
/** One member or a non-empty list of them; normalised to a list. */
const MembersSchema = z
  .union([MemberSchema.transform((m) => [m]), z.array(MemberSchema).min(1).max(MEMBERS_MAX)])
  .transform((list) => [...new Set(list)]);

const DELAY_MS_MAX = 60_000;
const ms = z.number().int().min(0).max(DELAY_MS_MAX);

export const PartitionSchema = z
  .strictObject({
    type: z.literal('partition'),
    /** Full partition: no traffic between groups. Nodes in no group form one more group. */
    groups: z.array(z.array(MemberSchema).min(1).max(MEMBERS_MAX)).min(1).max(MEMBERS_MAX).optional(),
    /** One-way partition: what `from` sends never reaches `to`; the other way still works. */
    from: MembersSchema.optional(),
    to: MembersSchema.optional(),
  })
  .superRefine((p, ctx) => {
    const oneWay = p.from !== undefined || p.to !== undefined;
    if (p.groups !== undefined && oneWay) {
      ctx.addIssue({ code: 'custom', message: 'give either groups (a full partition) or from and to (a one-way partition), not both' });
    } else if (p.groups === undefined && !oneWay) {
      ctx.addIssue({ code: 'custom', message: 'give groups (e.g. [["n1","n2"],["n3"]]) or from and to for a one-way partition' });
    } else if (oneWay && (p.from === undefined || p.to === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a one-way partition needs both from and to' });
    }
    if (p.groups !== undefined) {
      const seen = new Set<string>();
      for (const m of p.groups.flat()) {
        if (seen.has(m)) ctx.addIssue({ code: 'custom', path: ['groups'], message: `${m} is in more than one group` });
        seen.add(m);
      }
    }
  });

export const IsolateSchema = z.strictObject({
  type: z.literal('isolate'),
  node: NodeNameSchema,
  /** Also cut the node from every NATS server (default true). */
  nats: z.boolean().default(true),
});

export const RingSchema = z.strictObject({
  type: z.literal('ring'),
  /** The ring's order; default every node in id order. */
  nodes: z.array(NodeNameSchema).min(3).max(MEMBERS_MAX).optional(),
});

const directed = {
  from: MembersSchema,
  to: MembersSchema,
  /** Also from `to` to `from`. */
  bidirectional: z.boolean().default(false),
};

export const LatencySchema = z.strictObject({
  type: z.literal('latency'),
  ...directed,
  ms,
  jitterMs: ms.default(0),
});

export const BandwidthSchema = z.strictObject({
  type: z.literal('bandwidth'),
  ...directed,
  bytesPerSecond: z.number().int().min(1).max(10_000_000_000),
});

export const ResetSchema = z.strictObject({
  type: z.literal('reset'),
  from: MembersSchema,
  to: MembersSchema,
  /** Keep resetting: every connection between them is reset this long after it opens, until healed. */
  afterMs: z.number().int().min(1).max(3_600_000).optional(),
});

export const NetworkFaultSchemas = [PartitionSchema, IsolateSchema, RingSchema, LatencySchema, BandwidthSchema, ResetSchema] as const;
export const NETWORK_FAULT_TYPES = ['partition', 'isolate', 'ring', 'latency', 'bandwidth', 'reset'] as const;

export type PartitionFault = z.output<typeof PartitionSchema>;
export type NetworkFault =
  | PartitionFault
  | z.output<typeof IsolateSchema>
  | z.output<typeof RingSchema>
  | z.output<typeof LatencySchema>
  | z.output<typeof BandwidthSchema>
  | z.output<typeof ResetSchema>;
