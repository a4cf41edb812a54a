import { describe, it, expect } from 'vitest';
import { KeyRateLimiter, TokenBuckets } from '../../../src/http/rate-limit.js';

describe('TokenBuckets', () => {
  it('allows a burst, then refills at the rate, and says how long to wait', () => {
    const b = new TokenBuckets({ burst: 3, perSecond: 2 });
    expect([b.take('a', 0), b.take('a', 0), b.take('a', 0)]).toEqual([0, 0, 0]);
    expect(b.take('a', 0)).toBeCloseTo(0.5);
    expect(b.take('a', 250)).toBeCloseTo(0.25);
    expect(b.take('a', 500)).toBe(0);
    expect(b.take('b', 500)).toBe(0);
    // Never more than the burst, however long idle.
    for (let i = 0; i < 3; i++) expect(b.take('a', 100_000)).toBe(0);
    expect(b.take('a', 100_000)).toBeGreaterThan(0);
  });

  it('is bounded: the oldest buckets are dropped (and start full again)', () => {
    const b = new TokenBuckets({ burst: 1, perSecond: 0.001 }, 2);
    expect(b.take('a', 0)).toBe(0);
    expect(b.take('a', 0)).toBeGreaterThan(0);
    b.take('b', 0);
    b.take('c', 0);
    expect(b.take('a', 0)).toBe(0);
  });
});

describe('KeyRateLimiter', () => {
  it('limits per address and per token, answering whole seconds of at least 1', () => {
    const l = new KeyRateLimiter({ burst: 2, perSecond: 1 });
    expect(l.check('1.1.1.1', 't')).toBe(0);
    expect(l.check('2.2.2.2', 't')).toBe(0);
    expect(l.check('3.3.3.3', 't')).toBe(1);
    expect(l.check('3.3.3.3', undefined)).toBe(0);
    expect(l.check('3.3.3.3', 'u')).toBe(1);
  });
});
