// admin_token, dev_tokens, log_level, access_log: values and file:line:column errors.
import { describe, it, expect } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/parse.js';

const FILE = 'x.conf';
const ADMIN = 'a'.repeat(40);

function errorOf(text: string): string {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error(`expected a ConfigError for:\n${text}`);
}

describe('operator directives', () => {
  it('parse to the config, defaults absent', () => {
    const c = parseConfig(`admin_token ${ADMIN};\ndev_tokens on;\nlog_level warn;\naccess_log off;\n`, FILE);
    expect(c).toMatchObject({ adminToken: ADMIN, devTokens: true, logLevel: 'warn', accessLog: false });
    const d = parseConfig('http 8080;', FILE);
    expect([d.adminToken, d.devTokens, d.logLevel, d.accessLog]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('reports bad values at their place, never echoing the admin token', () => {
    expect(errorOf('http 8080;\nlog_level loud;')).toBe('x.conf:2:11: invalid log_level \'loud\': expected debug, info, warn, error');
    expect(errorOf('dev_tokens yes;')).toBe("x.conf:1:12: invalid dev_tokens 'yes': expected on or off");
    expect(errorOf('access_log on off;')).toBe("x.conf:1:15: unexpected 'off': expected access_log on|off");
    const short = 'short-secret-123';
    const m = errorOf(`\n  admin_token ${short};`);
    expect(m).toMatch(/^x\.conf:2:15: admin_token is too short \(16 characters\)/);
    expect(m).not.toContain(short);
    const spaced = `${'b'.repeat(35)}"x`;
    expect(errorOf(`admin_token '${spaced}';`)).toMatch(/^x\.conf:1:13: admin_token may use only/);
    expect(errorOf(`admin_token ${ADMIN};\nadmin_token ${ADMIN};`)).toBe("x.conf:2:1: duplicate 'admin_token' (first at 1:1)");
    expect(errorOf('file vod {\n  path /v;\n  log_level info;\n}')).toBe("x.conf:3:3: unknown directive 'log_level' in a file block (allowed in top level)");
  });
});
