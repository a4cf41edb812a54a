import { describe, it, expect } from 'vitest';
import { ErrorCode, PackagerError } from '../../../src/media/errors.js';
import { kidEquals, kidFromB64url, kidToB64url, kidToHex, kidToUuid, parseKid } from '../../../src/keys/kid.js';

const UUID = '5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b';
const HEX = '5d6e1c3a2f1b4d8e9a6b0c1d2e3f4a5b';

describe('parseKid', () => {
  it.each([
    ['dashed lowercase', UUID],
    ['dashed uppercase', UUID.toUpperCase()],
    ['plain uppercase', HEX.toUpperCase()],
    ['plain lowercase', HEX],
    ['trailing newline', `${UUID}\n`],
    ['CRLF and spaces', `  ${UUID}\r\n`],
    ['tabs', `\t${HEX}\t`],
    ['a BOM from a Windows editor', `\uFEFF${UUID}\r\n`],
  ])('accepts %s', (_name, text) => {
    const kid = parseKid(text);
    expect(kid).toBeInstanceOf(Uint8Array);
    expect(kid.length).toBe(16);
    expect(kidToHex(kid)).toBe(HEX);
  });

  it.each([
    ['empty', '', /empty/],
    ['only whitespace', ' \n', /empty/],
    ['too short', HEX.slice(2), /30 hex digits, not 32/],
    ['too long', `${HEX}00`, /34 hex digits, not 32/],
    ['non-hex', `${HEX.slice(0, 31)}g`, /characters other than hex/],
    ['misplaced dashes', '5d6e1c3a2-f1b-4d8e-9a6b-0c1d2e3f4a5b', /8-4-4-4-12/],
    ['braces', `{${UUID}}`, /characters other than hex/],
    ['urn form', `urn:uuid:${UUID}`, /characters other than hex/],
    ['two KIDs', `${UUID}\n${UUID}`, /characters other than hex/],
    ['the nil UUID', '00000000-0000-0000-0000-000000000000', /nil UUID/],
  ])('refuses %s', (_name, text, message) => {
    let error: unknown;
    try {
      parseKid(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PackagerError);
    expect((error as PackagerError).code).toBe(ErrorCode.BAD_REQUEST);
    expect((error as PackagerError).message).toMatch(/^not a KeyID: /);
    expect((error as PackagerError).message).toMatch(message);
  });

  it('never echoes the input in its message', () => {
    expect(() => parseKid('secret-looking-garbage')).toThrow(/^(?!.*secret-looking).*$/);
  });
});

describe('KID formatting', () => {
  const kid = parseKid(UUID);

  it('formats as lowercase dashed UUID and hex', () => {
    expect(kidToUuid(parseKid(HEX.toUpperCase()))).toBe(UUID);
    expect(kidToHex(kid)).toBe(HEX);
  });

  it('formats a view into a larger buffer by its own bytes', () => {
    const big = new Uint8Array(32);
    big.set(kid, 8);
    expect(kidToUuid(big.subarray(8, 24))).toBe(UUID);
  });

  it('refuses arrays that are not 16 bytes', () => {
    expect(() => kidToHex(new Uint8Array(15))).toThrow(TypeError);
    expect(() => kidToUuid(new Uint8Array(17))).toThrow(TypeError);
    expect(() => kidToB64url(new Uint8Array(0))).toThrow(TypeError);
  });

  it('round-trips base64url as ClearKey uses it', () => {
    const b64 = kidToB64url(kid);
    expect(b64).toBe(Buffer.from(HEX, 'hex').toString('base64url'));
    expect(b64).toHaveLength(22);
    expect(b64).not.toMatch(/=/);
    expect(kidEquals(kidFromB64url(b64), kid)).toBe(true);
  });

  it('takes padded and standard-alphabet base64 from lenient players', () => {
    // 0xfb 0xff... gives '+' and '/' in standard base64.
    const odd = Uint8Array.from(Buffer.from('fbfffefbfffefbfffefbfffefbfffeff', 'hex'));
    const std = Buffer.from(odd).toString('base64');
    expect(std).toMatch(/[+/]/);
    expect(kidToHex(kidFromB64url(std))).toBe(kidToHex(odd));
    expect(kidToHex(kidFromB64url(`${kidToB64url(odd)}==`))).toBe(kidToHex(odd));
  });

  it.each([
    ['too short', 'XW4cOi8bTY6aawwdLj9K'],
    ['too long', 'XW4cOi8bTY6aawwdLj9KWwAA'],
    ['junk characters', 'XW4cOi8bTY6aaw.dLj9KWw'],
    ['a non-canonical last character', 'XW4cOi8bTY6aawwdLj9KWx'],
    ['empty', ''],
  ])('refuses base64url that is %s', (_name, text) => {
    expect(() => kidFromB64url(text)).toThrow(/16 bytes in base64url/);
  });

  it('compares KIDs', () => {
    expect(kidEquals(kid, parseKid(HEX))).toBe(true);
    expect(kidEquals(kid, parseKid(`${HEX.slice(0, 31)}c`))).toBe(false);
  });
});
