// The zod schemas of a catalogue document: the shape of each part. Relations between parts
// (ranges, unique ids, references to axes) are checked in validate.ts, which reports them all.

import { z } from 'zod';
import { catalogueLimits as limits } from './limits.ts';
import { tryParseUid, UID_TOKEN_PATTERN } from './uid.ts';
import {
  CATALOGUE_ID_PATTERN,
  catalogueIdRegex,
  KEY_VALUE_PATTERN,
  KEY_WILDCARD,
  keyValueRegex,
  MODEL_TIERS,
  SEVERITIES,
  SLOT_KINDS,
  THEMES,
  TIERS,
} from './vocabulary.ts';

const CatalogueIdSchema = z
  .string()
  .regex(catalogueIdRegex, `must match ${CATALOGUE_ID_PATTERN}: a lowercase letter, then up to 31 of [a-z0-9_]`);

const TitleSchema = z.string().trim().min(1).max(limits.titleCharsMax);
const DescriptionSchema = z.string().trim().min(1).max(limits.descriptionCharsMax);
const AxisBoundSchema = z.number().min(-limits.axisMagnitudeMax).max(limits.axisMagnitudeMax);

export const TraitAxisSchema = z.strictObject({
  id: CatalogueIdSchema,
  min: AxisBoundSchema,
  max: AxisBoundSchema,
  target: AxisBoundSchema,
  tolerance: AxisBoundSchema,
  description: DescriptionSchema,
  unit: z.string().trim().min(1).max(limits.unitCharsMax).optional(),
});

const keyValue = (what: string) =>
  z
    .string()
    .refine(
      (v) => v === KEY_WILDCARD || keyValueRegex.test(v),
      `${what} must be '${KEY_WILDCARD}' or match ${KEY_VALUE_PATTERN}`,
    );

export const TemplateKeySchema = z.strictObject({
  geography: keyValue('geography'),
  theme: z.enum([KEY_WILDCARD, ...THEMES]),
  tier: z.enum([KEY_WILDCARD, ...TIERS]),
  faction: keyValue('faction'),
});

export const TemplateSlotSchema = z.strictObject({
  id: CatalogueIdSchema,
  kind: z.enum(SLOT_KINDS),
  modelTier: z.enum(MODEL_TIERS),
});

export const TemplateSceneSchema = z.strictObject({
  id: CatalogueIdSchema,
  title: TitleSchema,
  slots: z.array(TemplateSlotSchema).min(1).max(limits.slotsPerSceneMax),
});

export const EventTemplateSchema = z.strictObject({
  id: CatalogueIdSchema,
  title: TitleSchema,
  description: DescriptionSchema.optional(),
  theme: z.enum(THEMES),
  tier: z.enum(TIERS),
  keys: z.array(TemplateKeySchema).min(1).max(limits.keysPerTemplateMax),
  effects: z.record(CatalogueIdSchema, z.number()),
  participants: z.strictObject({
    min: z.number().int().min(0).max(limits.participantsMax),
    max: z.number().int().min(1).max(limits.participantsMax),
  }),
  scenes: z.array(TemplateSceneSchema).min(1).max(limits.scenesPerTemplateMax),
  cooldownTicks: z.number().int().min(0).max(limits.cooldownTicksMax).default(0),
  weight: z.number().positive().max(limits.weightMax).default(1),
});

export const VerifierFlagSchema = z.strictObject({
  id: CatalogueIdSchema,
  description: DescriptionSchema,
  severity: z.enum(SEVERITIES),
});

export const CatalogueSchema = z.strictObject({
  version: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  axes: z.array(TraitAxisSchema).min(1).max(limits.axesMax),
  templates: z.array(EventTemplateSchema).max(limits.templatesMax),
  flags: z.array(VerifierFlagSchema).max(limits.flagsMax),
});

/** What an author writes: `cooldownTicks` and `weight` may be left out. */
export type CatalogueDocument = z.input<typeof CatalogueSchema>;

/** One UID token, for request schemas (e.g. a district in `POST /events`). */
export const UidTokenSchema = z
  .string()
  .regex(new RegExp(UID_TOKEN_PATTERN), `must be a UID token: 1-64 characters of [A-Za-z0-9_-]`);

/** A UID string of any level, parsed; the issue message is the UidError's. */
export const UidSchema = z.string().transform((s, ctx) => {
  const result = tryParseUid(s);
  if (result.ok) return result.uid;
  ctx.addIssue({ code: 'custom', message: result.error.message, params: { uidErrorCode: result.error.code } });
  return z.NEVER;
});
