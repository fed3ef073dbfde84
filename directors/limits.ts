// Explicit bounds on what the directors hold and write.

export const directorLimits = {
  /** Participants one district instance of an event serves; larger events unfold into more districts. */
  participantsPerDistrictDefault: 50,
  participantsPerDistrictMax: 10_000,
  /** Districts one event may unfold into (participantsPerEventMax / smallest district). */
  districtsPerEventMax: 1_000,
  /** Live routines per process: a host refuses to start more (the register keeps the rest waiting). */
  routinesMax: 1_000_000,
  /** UIDs asked about in one composed-poll query. */
  pollBatchMax: 1_000,
} as const;
