// Membership changes: simple (one voter at a time) and joint consensus (etcd's confchange.Changer).
// Works on copies; the caller switches to the result only when the change applies.
import { ConfChangeError } from './errors.ts';
import type { Progress } from './progress.ts';
import type { ProgressMap, ProgressTracker, TrackerConfig } from './tracker.ts';
import { cloneTrackerConfig } from './tracker.ts';
import type { ConfChange, ConfChangeSingle, ConfState, ReplicaId } from './types.ts';

export interface ChangeResult {
  config: TrackerConfig;
  progress: ProgressMap;
}

export class Changer {
  constructor(
    private readonly tracker: ProgressTracker,
    private readonly lastIndex: number,
  ) {}

  /** Enters a joint configuration: outgoing = current voters, incoming = current voters + changes. */
  enterJoint(autoLeave: boolean, changes: ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.checkAndCopy();
    if (config.voters[1].size > 0) throw new ConfChangeError('config is already joint');
    if (config.voters[0].size === 0) throw new ConfChangeError("can't make a zero-voter config joint");
    for (const id of config.voters[0]) config.voters[1].add(id);
    this.apply(config, progress, changes);
    config.autoLeave = autoLeave;
    return this.checkAndReturn(config, progress);
  }

  /** Leaves the joint configuration: drops the outgoing half and turns learnersNext into learners. */
  leaveJoint(): ChangeResult {
    const { config, progress } = this.checkAndCopy();
    if (config.voters[1].size === 0) throw new ConfChangeError(`can't leave a non-joint config`);
    for (const id of config.learnersNext) {
      config.learners.add(id);
      const pr = progress.get(id);
      if (pr) pr.isLearner = true;
    }
    config.learnersNext.clear();
    for (const id of config.voters[1]) {
      const isVoter = config.voters[0].has(id);
      const isLearner = config.learners.has(id);
      if (!isVoter && !isLearner) progress.delete(id);
    }
    config.voters[1].clear();
    config.autoLeave = false;
    return this.checkAndReturn(config, progress);
  }

  /** Applies changes that alter the voter set by at most one (thesis §4.1: safe without joint consensus). */
  simple(changes: ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.checkAndCopy();
    if (config.voters[1].size > 0) throw new ConfChangeError("can't apply simple config change in joint config");
    const before = new Set(config.voters[0]);
    this.apply(config, progress, changes);
    let diff = 0;
    for (const id of config.voters[0]) if (!before.has(id)) diff++;
    for (const id of before) if (!config.voters[0].has(id)) diff++;
    if (diff > 1) throw new ConfChangeError('more than one voter changed without entering joint config');
    return this.checkAndReturn(config, progress);
  }

  private apply(config: TrackerConfig, progress: ProgressMap, changes: ConfChangeSingle[]): void {
    for (const cc of changes) {
      if (cc.replica === 0) continue; // etcd: a change for replica 0 is a no-op
      switch (cc.type) {
        case 'addVoter':
          this.makeVoter(config, progress, cc.replica);
          break;
        case 'addLearner':
          this.makeLearner(config, progress, cc.replica);
          break;
        case 'removeVoter':
          this.remove(config, progress, cc.replica);
          break;
        default:
          throw new ConfChangeError(`unexpected conf change type ${String((cc as ConfChangeSingle).type)}`);
      }
    }
    if (config.voters[0].size === 0) throw new ConfChangeError('removed all voters');
  }

  private makeVoter(config: TrackerConfig, progress: ProgressMap, id: ReplicaId): void {
    const pr = progress.get(id);
    if (!pr) {
      this.initProgress(config, progress, id, false);
      return;
    }
    pr.isLearner = false;
    config.learners.delete(id);
    config.learnersNext.delete(id);
    config.voters[0].add(id);
  }

  private makeLearner(config: TrackerConfig, progress: ProgressMap, id: ReplicaId): void {
    const pr = progress.get(id);
    if (!pr) {
      this.initProgress(config, progress, id, true);
      return;
    }
    if (pr.isLearner) return;
    this.remove(config, progress, id);
    progress.set(id, pr); // keep its progress
    // A voter of the outgoing config can only become a learner when the joint config is left.
    if (config.voters[1].has(id)) {
      config.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      config.learners.add(id);
    }
  }

  private remove(config: TrackerConfig, progress: ProgressMap, id: ReplicaId): void {
    if (!progress.has(id)) return;
    config.voters[0].delete(id);
    config.learners.delete(id);
    config.learnersNext.delete(id);
    if (!config.voters[1].has(id)) progress.delete(id);
  }

  private initProgress(config: TrackerConfig, progress: ProgressMap, id: ReplicaId, isLearner: boolean): void {
    if (isLearner) config.learners.add(id);
    else config.voters[0].add(id);
    // Probe from the last index: the new peer's log is most likely empty or far behind.
    progress.set(id, this.tracker.newProgress(Math.max(this.lastIndex, 1), isLearner));
  }

  private checkAndCopy(): ChangeResult {
    const config = cloneTrackerConfig(this.tracker.config);
    const progress: ProgressMap = new Map();
    for (const [id, pr] of this.tracker.progress) progress.set(id, pr.clone());
    checkInvariants(config, progress);
    return { config, progress };
  }

  private checkAndReturn(config: TrackerConfig, progress: ProgressMap): ChangeResult {
    checkInvariants(config, progress);
    return { config, progress };
  }
}

function checkInvariants(config: TrackerConfig, progress: ProgressMap): void {
  const need = (ids: Iterable<ReplicaId>, what: string) => {
    for (const id of ids) if (!progress.has(id)) throw new ConfChangeError(`no progress for ${what} ${id}`);
  };
  need(config.voters[0], 'voter');
  need(config.voters[1], 'outgoing voter');
  need(config.learners, 'learner');
  need(config.learnersNext, 'learnerNext');
  for (const id of config.learnersNext) {
    if (!config.voters[1].has(id)) throw new ConfChangeError(`${id} is in learnersNext, but not in the outgoing voters`);
    if (progress.get(id)!.isLearner) throw new ConfChangeError(`${id} is in learnersNext, but is already marked as learner`);
  }
  for (const id of config.learners) {
    if (config.voters[1].has(id)) throw new ConfChangeError(`${id} is in learners and outgoing voters`);
    if (config.voters[0].has(id)) throw new ConfChangeError(`${id} is in learners and incoming voters`);
    if (!progress.get(id)!.isLearner) throw new ConfChangeError(`${id} is in learners, but is not marked as learner`);
  }
  if (config.voters[1].size === 0) {
    if (config.learnersNext.size > 0) throw new ConfChangeError('learnersNext must be empty when not joint');
    if (config.autoLeave) throw new ConfChangeError('autoLeave must be false when not joint');
  }
}

/** Builds the tracker state described by a ConfState (after a restart or a snapshot). */
export function restoreConfState(tracker: ProgressTracker, cs: ConfState, lastIndex: number): ChangeResult {
  const config: TrackerConfig = {
    voters: [new Set(cs.voters), new Set(cs.votersOutgoing)],
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext),
    autoLeave: cs.votersOutgoing.length > 0 && cs.autoLeave,
  };
  const progress: ProgressMap = new Map();
  const add = (id: ReplicaId, isLearner: boolean) => {
    if (!progress.has(id)) progress.set(id, tracker.newProgress(Math.max(lastIndex, 1), isLearner));
  };
  for (const id of cs.voters) add(id, false);
  for (const id of cs.votersOutgoing) add(id, false);
  for (const id of cs.learners) add(id, true);
  for (const id of cs.learnersNext) add(id, false);
  checkInvariants(config, progress);
  return { config, progress };
}

/** Does this ConfChange leave a joint configuration (an empty change)? */
export function confChangeLeavesJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0;
}

/** Does this ConfChange enter a joint configuration, and if so is it left automatically? */
export function confChangeEntersJoint(cc: ConfChange): { autoLeave: boolean } | undefined {
  if (cc.transition !== 'auto' || cc.changes.length > 1) {
    return { autoLeave: cc.transition === 'auto' || cc.transition === 'jointImplicit' };
  }
  return undefined;
}

export type { Progress };
