export type CatalogueIssueCode =
  | 'invalid_json'
  | 'too_large'
  | 'schema'
  | 'duplicate_id'
  | 'axis_range'
  | 'axis_target'
  | 'axis_tolerance'
  | 'unknown_axis'
  | 'no_effects'
  | 'effect_zero'
  | 'effect_too_large'
  | 'participants_range'
  | 'duplicate_scene'
  | 'duplicate_slot'
  | 'slot_model_tier'
  | 'no_audit_slot'
  | 'key_theme'
  | 'key_tier'
  | 'duplicate_key'
  | 'version_not_next'
  | 'no_change';

/** One problem in a catalogue document; `path` leads from the document root to the bad value. */
export interface CatalogueIssue {
  readonly code: CatalogueIssueCode;
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** `templates[3].effects.fear` */
export function formatIssuePath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out === '' ? '(document)' : out;
}

/** A catalogue that must not be used: `issues` lists every problem found, each with its path. */
export class CatalogueError extends Error {
  override readonly name = 'CatalogueError';
  readonly issues: readonly CatalogueIssue[];

  constructor(issues: readonly CatalogueIssue[], what = 'the catalogue is invalid') {
    if (issues.length === 0) throw new Error('invariant: a CatalogueError needs at least one issue');
    const lines = issues.map((i) => `  - ${formatIssuePath(i.path)}: ${i.message} [${i.code}]`);
    super(`${what} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.issues = issues;
  }
}
