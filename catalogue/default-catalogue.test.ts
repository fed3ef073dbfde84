import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  catalogueIndex,
  defaultCatalogue,
  defaultCatalogueUrl,
  isValidToken,
  SLOT_KIND_MODEL_TIERS,
  THEMES,
  TIERS,
  validateCatalogue,
} from './index.ts';

const c = defaultCatalogue();
const index = catalogueIndex(c);

describe('the default catalogue', () => {
  it('validates, is version 1, and is shared and frozen', () => {
    expect(c.version).toBe(1);
    expect(validateCatalogue(JSON.parse(readFileSync(defaultCatalogueUrl, 'utf8')))).toEqual(c);
    expect(defaultCatalogue()).toBe(c);
    expect(Object.isFrozen(c.templates)).toBe(true);
  });

  it('has at least 8 axes, 20 templates and 6 flags', () => {
    expect(c.axes.length).toBeGreaterThanOrEqual(8);
    expect(c.templates.length).toBeGreaterThanOrEqual(20);
    expect(c.flags.length).toBeGreaterThanOrEqual(6);
  });

  it('has templates for every theme in both tiers', () => {
    for (const theme of THEMES) {
      for (const tier of TIERS) expect(c.templates.some((t) => t.theme === theme && t.tier === tier), `${theme}/${tier}`).toBe(true);
    }
  });

  it('has the axes and flags the design names', () => {
    for (const id of ['order', 'scarcity', 'trade_flow', 'faction_influence', 'faith', 'fear', 'prosperity', 'rumour', 'heroism']) {
      expect(index.axes.has(id), id).toBe(true);
    }
    for (const id of ['canon_conflict', 'lore_violation', 'tone_mismatch', 'pii_leak', 'unsafe_content', 'repetition']) {
      expect(index.flags.has(id), id).toBe(true);
    }
    expect(c.flags.filter((f) => f.severity === 'block').map((f) => f.id)).toEqual(
      expect.arrayContaining(['canon_conflict', 'pii_leak', 'unsafe_content']),
    );
  });

  it('references only existing axes, and ids usable as UID tokens', () => {
    for (const t of c.templates) {
      for (const axis of Object.keys(t.effects)) expect(index.axes.has(axis), `${t.id} → ${axis}`).toBe(true);
      expect(isValidToken(t.id)).toBe(true);
      for (const scene of t.scenes) {
        expect(isValidToken(scene.id)).toBe(true);
        for (const slot of scene.slots) {
          expect(isValidToken(slot.id)).toBe(true);
          expect(SLOT_KIND_MODEL_TIERS[slot.kind]).toContain(slot.modelTier);
        }
      }
    }
  });

  it('lets the GM push every axis both ways', () => {
    for (const axis of c.axes) {
      const deltas = c.templates.map((t) => t.effects[axis.id]).filter((d): d is number => d !== undefined);
      expect(deltas.some((d) => d > 0), `${axis.id} can rise`).toBe(true);
      expect(deltas.some((d) => d < 0), `${axis.id} can fall`).toBe(true);
    }
  });

  it('gives major arcs a deep-model moment', () => {
    for (const t of c.templates.filter((x) => x.tier === 'major_arc')) {
      expect(t.scenes.some((s) => s.slots.some((slot) => slot.modelTier === 'deep')), t.id).toBe(true);
    }
  });

  it('has effects a designer would expect', () => {
    const effect = (template: string, axis: string): number => index.templates.get(template)?.effects[axis] ?? 0;
    expect(effect('market_festival', 'prosperity')).toBeGreaterThan(0);
    expect(effect('market_festival', 'order')).toBeGreaterThan(0); // less unrest
    expect(effect('grain_riot', 'order')).toBeLessThan(0);
    expect(effect('guild_embargo', 'trade_flow')).toBeLessThan(0);
    expect(effect('smuggling_bust', 'crime')).toBeLessThan(0);
    expect(effect('heretics_sermon', 'faith')).toBeLessThan(0);
    expect(effect('border_skirmish', 'border_tension')).toBeGreaterThan(0);
    expect(effect('peace_treaty', 'border_tension')).toBeLessThan(0);
    expect(effect('coronation', 'legitimacy')).toBeGreaterThan(0);
    expect(effect('plague_rumour', 'rumour')).toBeGreaterThan(0);
    expect(effect('duel_of_honour', 'heroism')).toBeGreaterThan(0);
  });
});
