// Errors of the eventual-state API, each mapping to one HTTP outcome at the edge.

/** Bad input (name grammar, a non-integer or too large increment): 400, nothing applied. */
export class CrdtInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrdtInputError';
  }
}

/** A limit would be exceeded (too many counters or entries, a total out of range): 409, nothing applied. */
export class CrdtLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrdtLimitError';
  }
}

/** The replica cannot take the write now (closing, too many unflushed increments): 503, not applied. */
export class CrdtUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrdtUnavailableError';
  }
}

/** The write is in the local document but could not be made durable: 504, it may still count. */
export class CrdtIndeterminateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrdtIndeterminateError';
  }
}
