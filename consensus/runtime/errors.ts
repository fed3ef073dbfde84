// The runtime's answers to a caller, in the terms the HTTP layer needs: 503 vs 504.

/** Definitely not applied: not proposed (no leader, dropped, shutting down). Safe to retry. */
export class UnavailableError extends Error {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs = 200) {
    super(message);
    this.name = 'UnavailableError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** Proposed but not confirmed in time: it may or may not take effect. */
export class IndeterminateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndeterminateError';
  }
}

export class UnknownGroupError extends Error {
  constructor(groupId: number) {
    super(`group ${groupId} is not hosted on this node`);
    this.name = 'UnknownGroupError';
  }
}
