import { describe, it, expect } from 'vitest';
import { parseConfig } from '../../../src/config/parse.js';
import { AccessPolicy, envTokenSecret, isOpen, mergeGuards } from '../../../src/http/access.js';
import { ErrorCode } from '../../../src/media/errors.js';

const S1 = 's1-0123456789abcdef0123456789abcdef';
const S2 = 's2-0123456789abcdef0123456789abcdef';
const ENV = 'env-0123456789abcdef0123456789abcdef';

function policy(text: string, env?: string): { p: AccessPolicy; loc: (name: string) => ReturnType<AccessPolicy['guardOf']> } {
  const config = parseConfig(text, 'x.conf');
  const p = new AccessPolicy(config, env);
  return { p, loc: (name) => p.guardOf(config.files.find((f) => f.name === name)!) };
}

describe('AccessPolicy', () => {
  it('is open with nothing configured (the bundled config, development)', () => {
    const { p, loc } = policy('file a { path /a; drm local; }');
    expect(isOpen(loc('a'))).toBe(true);
    expect(isOpen(p.strictest)).toBe(true);
  });

  it('location over top level over environment; off opts out', () => {
    const text = `token_secret ${S1};\nauth http://auth.example/check;\nfile a { path /a; drm local; }\nfile b { path /b; drm local; token_secret ${S2}; auth off; }\nfile c { path /c; token_secret off; }`;
    const { p, loc } = policy(text, ENV);
    expect(loc('a')).toEqual({ secrets: [S1], auth: 'http://auth.example/check' });
    expect(loc('b')).toEqual({ secrets: [S2] });
    expect(loc('c')).toEqual({ secrets: [], auth: 'http://auth.example/check' });
    expect(p.signingSecret()).toBe(S1);
    const env = policy('file a { path /a; drm local; }\nfile b { path /b; token_secret off; }', ENV);
    expect(env.loc('a')).toEqual({ secrets: [ENV] });
    expect(isOpen(env.loc('b'))).toBe(true);
  });

  it('strictest: every protected location’s secrets, and a backend if any has one', () => {
    const { p } = policy(`file a { path /a; drm local; token_secret ${S1}; }\nfile b { path /b; drm local; auth http://x/a; }\nfile c { path /c; token_secret ${S2}; }`);
    expect(p.strictest).toEqual({ secrets: [S1], auth: 'http://x/a' });
  });

  it('mergeGuards: union of secrets, the first backend', () => {
    expect(mergeGuards([{ secrets: [] }, { secrets: [S1] }, { secrets: [S1, S2], auth: 'http://x' }])).toEqual({ secrets: [S1, S2], auth: 'http://x' });
    expect(isOpen(mergeGuards([]))).toBe(true);
  });
});

describe('PACKAGER_TOKEN_SECRET', () => {
  it('is read, and refused when too short', () => {
    expect(envTokenSecret({ PACKAGER_TOKEN_SECRET: ENV })).toBe(ENV);
    expect(envTokenSecret({})).toBeUndefined();
    expect(() => envTokenSecret({ PACKAGER_TOKEN_SECRET: 'short' })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });
});
