// The simulated operator's membership decisions: given the latest committed configuration, pick
// a change (add a learner, promote, remove, demote, replace, leave a joint config). Pure: the
// simulation performs the proposal.
import type { ConfChange, ConfChangeSingle, ConfChangeTransition, ConfState, ReplicaId } from '../raft/index.ts';
import type { SimRandom } from './prng.ts';

export interface MembershipLimits {
  votersMin: number;
  votersMax: number;
  /** The id a new replica would get, or undefined when no more replicas may be created. */
  newId: ReplicaId | undefined;
  /** How often to shrink the group when it could also grow (runs differ: some drift to one voter). */
  shrinkBias: number;
}

export interface MembershipPlan {
  cc: ConfChange;
  /** A replica to create (empty) before proposing. */
  newNode: ReplicaId | undefined;
  description: string;
}

export function isJoint(cs: ConfState): boolean {
  return cs.votersOutgoing.length > 0;
}

export function members(cs: ConfState): ReplicaId[] {
  return [...new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext])].sort((a, b) => a - b);
}

export function describeConfState(cs: ConfState): string {
  const parts = [`voters [${cs.voters.join(',')}]`];
  if (cs.votersOutgoing.length > 0) parts.push(`outgoing [${cs.votersOutgoing.join(',')}]${cs.autoLeave ? ' auto-leave' : ''}`);
  if (cs.learners.length > 0) parts.push(`learners [${cs.learners.join(',')}]`);
  if (cs.learnersNext.length > 0) parts.push(`learnersNext [${cs.learnersNext.join(',')}]`);
  return parts.join(' ');
}

function transitionFor(random: SimRandom, changes: number): ConfChangeTransition {
  if (changes > 1) return random.chance(0.5) ? 'auto' : random.chance(0.5) ? 'jointImplicit' : 'jointExplicit';
  const r = random.float();
  return r < 0.5 ? 'auto' : r < 0.75 ? 'jointImplicit' : 'jointExplicit';
}

export function chooseConfChange(random: SimRandom, cs: ConfState, limits: MembershipLimits): MembershipPlan | undefined {
  if (isJoint(cs)) {
    // An explicit joint config waits for us to leave it; an automatic one may race our leave (refused or ignored).
    if (!cs.autoLeave || random.chance(0.2)) return { cc: { transition: 'auto', changes: [] }, newNode: undefined, description: 'leave joint' };
    return undefined;
  }
  const voters = cs.voters;
  const learners = cs.learners;
  const grow: (() => MembershipPlan)[] = [];
  const shrink: (() => MembershipPlan)[] = [];
  const plan = (changes: ConfChangeSingle[], description: string, newNode?: ReplicaId): MembershipPlan => {
    const transition = transitionFor(random, changes.length);
    return { cc: { transition, changes }, newNode, description: `${description} (${transition})` };
  };
  const newId = limits.newId;
  if (newId !== undefined) {
    grow.push(() => plan([{ type: 'addLearner', replica: newId }], `add learner ${newId}`, newId));
    if (voters.length < limits.votersMax && random.chance(0.3)) {
      grow.push(() => plan([{ type: 'addVoter', replica: newId }], `add voter ${newId}`, newId));
    }
  }
  if (learners.length > 0 && voters.length < limits.votersMax) {
    const l = random.pick(learners);
    grow.push(() => plan([{ type: 'addVoter', replica: l }], `promote learner ${l}`));
    grow.push(() => plan([{ type: 'addVoter', replica: l }], `promote learner ${l}`));
    const v = random.pick(voters);
    // Same size, different members: the change joint consensus exists for.
    grow.push(() => plan([{ type: 'addVoter', replica: l }, { type: 'removeVoter', replica: v }], `replace voter ${v} with ${l}`));
    grow.push(() => plan([{ type: 'addVoter', replica: l }, { type: 'addLearner', replica: v }], `swap voter ${v} and learner ${l}`));
  }
  if (voters.length > limits.votersMin) {
    const v = random.pick(voters);
    shrink.push(() => plan([{ type: 'removeVoter', replica: v }], `remove voter ${v}`));
    shrink.push(() => plan([{ type: 'addLearner', replica: v }], `demote voter ${v}`));
  }
  if (learners.length > 0) {
    const l = random.pick(learners);
    shrink.push(() => plan([{ type: 'removeVoter', replica: l }], `remove learner ${l}`));
  }
  const options = shrink.length > 0 && (grow.length === 0 || random.chance(limits.shrinkBias)) ? shrink : grow;
  if (options.length === 0) return undefined;
  return random.pick(options)();
}
