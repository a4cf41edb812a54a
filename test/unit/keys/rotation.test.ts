import { describe, expect, it } from 'vitest';
import { keyPeriodOf, periodKid } from '../../../src/keys/rotation.js';
import { parseKid, kidToUuid } from '../../../src/keys/kid.js';

const BASE = parseKid('5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b');

describe('key rotation', () => {
  it('time-based periods follow the media clock', () => {
    const r = { seconds: 600 };
    expect(keyPeriodOf(r, { number: 1, start: 0 })).toBe(0);
    expect(keyPeriodOf(r, { number: 1, start: 600 * 90000 - 1 })).toBe(0);
    expect(keyPeriodOf(r, { number: 1, start: 600 * 90000 })).toBe(1);
  });

  it('segment-based periods group N consecutive numbers', () => {
    const r = { segments: 3 };
    expect([1, 2, 3, 4, 6, 7].map((number) => keyPeriodOf(r, { number, start: 0 }))).toEqual([0, 0, 0, 1, 1, 2]);
  });

  it('derives a distinct, stable, UUID-shaped KeyID per period', () => {
    const a = periodKid(BASE, 7);
    expect(kidToUuid(a)).toBe(kidToUuid(periodKid(BASE, 7)));
    expect(kidToUuid(a)).not.toBe(kidToUuid(periodKid(BASE, 8)));
    expect(kidToUuid(a)).not.toBe(kidToUuid(BASE));
    expect(kidToUuid(a)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(() => periodKid(BASE, -1)).toThrow(RangeError);
  });
});
