// What a fault does to one direction of the bytes through one proxy (toxiproxy's "toxics",
// for one stream): cut, latency with jitter, a bandwidth limit. Pure data, combined from every
// active fault that touches the stream.

export interface StreamToxics {
  /** Stop forwarding: bytes wait (as in a TCP send queue over a dead link) until the cut ends. */
  cut: boolean;
  /** Added one-way delay; bytes keep their order whatever the jitter. */
  latencyMs: number;
  /** Each chunk's delay is latencyMs ± up to jitterMs (uniform), never below 0. */
  jitterMs: number;
  /** Null: unlimited. */
  bytesPerSecond: number | null;
}

export const NO_TOXICS: Readonly<StreamToxics> = Object.freeze({ cut: false, latencyMs: 0, jitterMs: 0, bytesPerSecond: null });

export function isIdle(t: StreamToxics): boolean {
  return !t.cut && t.latencyMs === 0 && t.jitterMs === 0 && t.bytesPerSecond === null;
}

/** Several faults on one stream stack as toxiproxy's toxics do: delays add up, the tightest bandwidth wins, any cut cuts. */
export function combineToxics(list: readonly Partial<StreamToxics>[]): StreamToxics {
  let combined: StreamToxics = { ...NO_TOXICS };
  for (const t of list) {
    combined = {
      cut: combined.cut || t.cut === true,
      latencyMs: combined.latencyMs + (t.latencyMs ?? 0),
      jitterMs: combined.jitterMs + (t.jitterMs ?? 0),
      bytesPerSecond:
        t.bytesPerSecond === undefined || t.bytesPerSecond === null
          ? combined.bytesPerSecond
          : Math.min(combined.bytesPerSecond ?? Number.POSITIVE_INFINITY, t.bytesPerSecond),
    };
  }
  return combined;
}

export function sameToxics(a: StreamToxics, b: StreamToxics): boolean {
  return a.cut === b.cut && a.latencyMs === b.latencyMs && a.jitterMs === b.jitterMs && a.bytesPerSecond === b.bytesPerSecond;
}
