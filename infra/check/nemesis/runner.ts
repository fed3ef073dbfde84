// Carries out a fault plan against the controller: POST /faults at each window's start,
// DELETE /faults (heal everything: restart killed nodes, resume paused ones, mend partitions)
// at its end, and always a final heal. Records when each window really began and ended.
import { describeAnswer, request } from '../http.ts';
import type { FaultKind, FaultRequest, FaultWindow } from './schedule.ts';

export interface AppliedWindow {
  kind: FaultKind;
  label: string;
  faults: FaultRequest[];
  /** ms since the run started: POST sent, every POST answered, heal sent, heal answered. */
  startMs: number;
  activeMs: number;
  healStartMs: number;
  endMs: number;
  /** Fault ids the controller gave. */
  ids: string[];
}

export class NemesisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NemesisError';
  }
}

export interface NemesisRunnerOptions {
  controllerUrl: string;
  windows: readonly FaultWindow[];
  /** ms since the run started. */
  now: () => number;
  /** No window starts or lasts past this (the run's end); the caller heals then. */
  endMs: number;
  log: (line: string) => void;
  /** Called once a fault is in place (a kill: the node's next process is a new incarnation). */
  onFault?: (fault: FaultRequest) => void;
  /** Faults and heals restart processes: give them time. */
  requestTimeoutMs?: number;
}

const FAULT_REQUEST_TIMEOUT_MS_DEFAULT = 60_000;
/** A window that could last less than this before the run ends is not started. */
const WINDOW_MS_MIN = 500;

export class NemesisRunner {
  readonly applied: AppliedWindow[] = [];
  private stopped = false;
  private wake: (() => void) | null = null;
  private current: AppliedWindow | null = null;

  constructor(private readonly options: NemesisRunnerOptions) {}

  /** The window in force now, for progress lines. */
  get active(): AppliedWindow | null {
    return this.current;
  }

  /** Runs the plan until its end or stop(); rejects with NemesisError when a fault cannot be injected. */
  async run(): Promise<void> {
    // A heal can take seconds (a killed node restarts): later windows shift by that much, so
    // every fault-free period is as long as planned.
    let shiftMs = 0;
    for (const window of this.options.windows) {
      const startMs = window.startMs + shiftMs;
      if (startMs + WINDOW_MS_MIN > this.options.endMs) return;
      await this.sleepUntil(startMs);
      if (this.stopped) return;
      await this.inject(window);
      await this.sleepUntil(Math.min(window.endMs + shiftMs, this.options.endMs));
      if (this.stopped) return;
      await this.heal();
      shiftMs = Math.max(shiftMs, this.options.now() - window.endMs);
    }
  }

  /** Ends the plan early (the run is over); the caller heals. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** DELETE /faults: ends the current window, if any, and heals everything. */
  async heal(): Promise<void> {
    const o = this.options;
    const healStartMs = o.now();
    const answer = await request({ method: 'DELETE', url: `${o.controllerUrl}/faults`, timeoutMs: o.requestTimeoutMs ?? FAULT_REQUEST_TIMEOUT_MS_DEFAULT });
    if (answer.status !== 200) throw new NemesisError(`DELETE /faults (heal) failed: ${describeAnswer(answer)}; the cluster may still hold faults`);
    const w = this.current;
    if (w !== null) {
      w.healStartMs = healStartMs;
      w.endMs = o.now();
      this.applied.push(w);
      this.current = null;
      o.log(`nemesis: healed ${w.label} (${((w.endMs - w.startMs) / 1000).toFixed(1)} s)`);
    }
  }

  private async inject(window: FaultWindow): Promise<void> {
    const o = this.options;
    const w: AppliedWindow = { kind: window.kind, label: window.label, faults: window.faults, startMs: o.now(), activeMs: 0, healStartMs: 0, endMs: 0, ids: [] };
    this.current = w;
    o.log(`nemesis: ${window.label}`);
    for (const fault of window.faults) {
      const answer = await request({ method: 'POST', url: `${o.controllerUrl}/faults`, body: fault, timeoutMs: o.requestTimeoutMs ?? FAULT_REQUEST_TIMEOUT_MS_DEFAULT });
      if (answer.status !== 201) {
        const hint = answer.status === 501 ? ' (this cluster cannot inject that fault yet; pick another --nemesis)' : '';
        throw new NemesisError(`POST /faults ${JSON.stringify(fault)} failed: ${describeAnswer(answer)}${hint}`);
      }
      w.ids.push(String((answer.body as { id?: unknown }).id ?? '?'));
      o.onFault?.(fault);
    }
    w.activeMs = o.now();
  }

  private async sleepUntil(ms: number): Promise<void> {
    const waitMs = ms - this.options.now();
    if (waitMs <= 0 || this.stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
  }
}
