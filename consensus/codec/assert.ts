// TigerBeetle-style assertions: a violated invariant is a bug, so it fails loudly and at once.
// Messages are constant strings (or built only on failure) so hot paths pay nothing for them.

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** For messages that are costly to build: the closure runs only when the assertion fails. */
export function assertLazy(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new AssertionError(message());
}
