/**
 * Thrown by every decoder on truncated, malformed or out-of-limit input, and by encoders given
 * values the format cannot represent. `offset` is the byte offset in the input where decoding
 * failed (-1 for encode errors).
 */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(offset >= 0 ? `${message} (at byte offset ${offset})` : message);
    this.offset = offset;
  }
}
