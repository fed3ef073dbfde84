// The one error a link raises when its peer breaks the wire protocol; the link logs it and closes.

export type ProtocolViolation =
  | 'batchTooLarge'
  | 'batchEmpty'
  | 'checksumMismatch'
  | 'malformedBatch'
  | 'frameTooLarge'
  | 'unexpectedBatch'
  | 'handshakeRejected';

export class TransportProtocolError extends Error {
  readonly violation: ProtocolViolation;

  constructor(violation: ProtocolViolation, message: string) {
    super(message);
    this.name = 'TransportProtocolError';
    this.violation = violation;
  }
}
