import { describe, it, expect } from 'vitest';
import { KnownKids } from '../../../src/keys/known-kids.js';
import { parseKid } from '../../../src/keys/kid.js';

const A = parseKid('5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b');

describe('KnownKids', () => {
  it('remembers every other location that had a KID (for access control), the last one first', () => {
    const k = new KnownKids();
    expect(k.add(A, 'open', '/m.mp4')).toBeUndefined();
    expect(k.add(A, 'guarded', '/m.mp4')).toBe('open');
    expect(k.get(A)).toEqual({ location: 'guarded', mediaPath: '/m.mp4', alsoIn: ['open'] });
    k.add(A, 'open', '/m.mp4');
    expect(k.get(A)).toEqual({ location: 'open', mediaPath: '/m.mp4', alsoIn: ['guarded'] });
    k.add(A, 'open');
    expect(k.get(A)).toEqual({ location: 'open', alsoIn: ['guarded'] });
  });

  it('forgets a removed location, also among the others', () => {
    const k = new KnownKids();
    k.add(A, 'one');
    k.add(A, 'two');
    expect(k.removeLocation('one')).toBe(0);
    expect(k.get(A)).toEqual({ location: 'two' });
    expect(k.removeLocation('two')).toBe(1);
    expect(k.has(A)).toBe(false);
  });
});
