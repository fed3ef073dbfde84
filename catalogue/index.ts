// The catalogue: the shared vocabulary of every GM shard — trait axes, event templates,
// verifier flags — as one versioned, zod-validated document, plus the UID grammar
// (gm_event > district > scene > slot) that addresses work everywhere downstream.
//
// ARCHITECTURE: a leaf module (imports only zod and node built-ins). Pure functions over frozen
// data: validateCatalogue is the only producer of a Catalogue; encode/decode/hash give canonical
// bytes for the meta Raft group; the default catalogue ships as default-catalogue.json.

export {
  THEMES,
  TIERS,
  MODEL_TIERS,
  SLOT_KINDS,
  SLOT_KIND_MODEL_TIERS,
  SEVERITIES,
  KEY_WILDCARD,
  CATALOGUE_ID_PATTERN,
  KEY_VALUE_PATTERN,
  type Theme,
  type Tier,
  type ModelTier,
  type SlotKind,
  type Severity,
} from './vocabulary.ts';
export { catalogueLimits } from './limits.ts';
export type {
  Catalogue,
  TraitAxis,
  EventTemplate,
  TemplateKey,
  TemplateScene,
  TemplateSlot,
  ParticipantRange,
  VerifierFlag,
  ShardKeyLike,
} from './types.ts';
export {
  CatalogueSchema,
  TraitAxisSchema,
  EventTemplateSchema,
  TemplateKeySchema,
  TemplateSceneSchema,
  TemplateSlotSchema,
  VerifierFlagSchema,
  UidTokenSchema,
  UidSchema,
  type CatalogueDocument,
} from './schema.ts';
export { CatalogueError, formatIssuePath, type CatalogueIssue, type CatalogueIssueCode } from './errors.ts';
export { validateCatalogue } from './validate.ts';
export { encodeCatalogue, decodeCatalogue, catalogueHash } from './encoding.ts';
export {
  diffCatalogues,
  checkCatalogueUpgrade,
  type CatalogueDiff,
  type IdDiff,
  type CatalogueUpgradeCheck,
} from './diff.ts';
export { catalogueIndex, templatesForKey, templatesForShard, keyMatches, keysOverlap, type CatalogueIndex } from './lookup.ts';
export { defaultCatalogue, defaultCatalogueUrl } from './default.ts';
export {
  UID_LEVELS,
  UID_SEPARATOR,
  UID_TOKEN_LENGTH_MAX,
  UID_LENGTH_MAX,
  UID_TOKEN_PATTERN,
  UID_PATTERN,
  EVENT_UID_PREFIX,
  UidError,
  parseUid,
  tryParseUid,
  formatUid,
  isValidToken,
  newEventUid,
  type UidLevel,
  type UidErrorCode,
  type UidParts,
  type ParsedUid,
  type UidParseResult,
  type EventUidSeed,
} from './uid.ts';

/** Canonical JSON (sorted keys, no whitespace): the same value always yields the same bytes. */
export { canonicalJson, CanonicalJsonText } from './canonical-json.ts';
