// Explicit bounds on everything a catalogue may hold. A catalogue travels as one Raft command in
// the meta group and is held by every shard, so its size is capped like any other message.

export const catalogueLimits = {
  axesMax: 64,
  templatesMax: 1024,
  flagsMax: 64,
  keysPerTemplateMax: 32,
  scenesPerTemplateMax: 16,
  slotsPerSceneMax: 32,
  participantsMax: 10_000,
  cooldownTicksMax: 1_000_000_000,
  weightMax: 1_000_000,
  titleCharsMax: 120,
  descriptionCharsMax: 1_000,
  unitCharsMax: 32,
  /** Upper bound on |min| and |max| of an axis, so sums of deltas stay exact doubles. */
  axisMagnitudeMax: 1_000_000_000,
  /** The canonical encoding of a whole catalogue. */
  documentBytesMax: 4 * 1024 * 1024,
} as const;
