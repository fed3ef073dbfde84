import { describe, expect, it } from 'vitest';
import { checkCatalogueUpgrade, diffCatalogues, validateCatalogue, type CatalogueDocument } from './index.ts';
import { fixtureDocument } from './testing/fixture.ts';

function catalogue(change: (d: CatalogueDocument) => void = () => {}) {
  const doc = fixtureDocument();
  change(doc);
  return validateCatalogue(doc);
}

describe('diffCatalogues', () => {
  it('reports no change between equal catalogues, whatever their versions', () => {
    const d = diffCatalogues(catalogue(), catalogue((x) => void (x.version = 9)));
    expect(d.contentChanged).toBe(false);
    expect(d).toMatchObject({ fromVersion: 3, toVersion: 9 });
    expect(d.axes).toEqual({ added: [], removed: [], changed: [] });
  });

  it('lists added, removed and changed ids of each collection, sorted', () => {
    const from = catalogue();
    const to = catalogue((d) => {
      d.version = 4;
      d.axes.push({ id: 'fear', min: 0, max: 100, target: 25, tolerance: 15, description: 'Dread.' });
      d.axes.push({ id: 'crime', min: 0, max: 100, target: 20, tolerance: 10, description: 'Crime.' });
      d.axes[0]!.tolerance = 20; // order changed
      d.templates.splice(1, 1); // grain_riot removed
      d.templates[0]!.scenes[0]!.title = 'Lanterns'; // market_festival changed (deep inside)
      d.flags.push({ id: 'pii_leak', description: 'Personal data.', severity: 'block' });
    });
    const d = diffCatalogues(from, to);
    expect(d.contentChanged).toBe(true);
    expect(d.axes).toEqual({ added: ['crime', 'fear'], removed: [], changed: ['order'] });
    expect(d.templates).toEqual({ added: [], removed: ['grain_riot'], changed: ['market_festival'] });
    expect(d.flags).toEqual({ added: ['pii_leak'], removed: [], changed: [] });
    expect(diffCatalogues(to, from).axes).toEqual({ added: [], removed: ['crime', 'fear'], changed: ['order'] });
  });
});

describe('checkCatalogueUpgrade', () => {
  const changed = (version: number) =>
    catalogue((d) => {
      d.version = version;
      d.flags[0]!.severity = 'warn';
    });

  it('accepts version + 1 with a change', () => {
    const result = checkCatalogueUpgrade(catalogue(), changed(4));
    expect(result.ok).toBe(true);
    expect(result.diff.flags.changed).toEqual(['canon_conflict']);
  });

  it('rejects a version that is not the next one', () => {
    for (const v of [3, 5, 2]) {
      const result = checkCatalogueUpgrade(catalogue(), changed(v));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.issues.map((i) => i.code)).toEqual(['version_not_next']);
    }
  });

  it('rejects a bump that changes nothing', () => {
    const result = checkCatalogueUpgrade(catalogue(), catalogue((d) => void (d.version = 4)));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.code)).toEqual(['no_change']);
  });
});
