// Reconnect delay: capped exponential backoff with "equal jitter" (half fixed, half random),
// so a restarted node is not hit by every peer at the same instant, and never with zero delay.

/** A source of uniform randoms in [0, 1); injected so tests and the simulator can fix it. */
export type RandomSource = () => number;

export function reconnectDelayMs(
  failedAttempts: number,
  delayMsMin: number,
  delayMsMax: number,
  random: RandomSource,
): number {
  if (!(Number.isInteger(failedAttempts) && failedAttempts >= 0)) {
    throw new Error(`assertion: failedAttempts ${failedAttempts} must be a non-negative integer`);
  }
  const r = random();
  if (!(r >= 0 && r < 1)) throw new Error(`assertion: random source returned ${r}, outside [0, 1)`);
  // Clamp the exponent: 2^30 times any sane minimum is past every cap.
  const ceilingMs = Math.min(delayMsMax, delayMsMin * 2 ** Math.min(failedAttempts, 30));
  return ceilingMs / 2 + r * (ceilingMs / 2);
}
