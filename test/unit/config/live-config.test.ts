import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/parse.js';
import { keyRotation } from '../../../src/config/drm.js';

const FILE = 'x.conf';
const RID = 'resource_id 5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b;';

function stream(body: string): string {
  return `stream tv {\n  input udp://127.0.0.1:5000;\n  ${body}\n}\n`;
}

function errorOf(text: string): string {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('live stream config', () => {
  it('reads key rotation by time or by segments', () => {
    const byTime = parseConfig(stream(`${RID} drm local rotate=10m;`), FILE).streams[0]!;
    expect(keyRotation(byTime.drm!)).toEqual({ seconds: 600 });
    const bySegments = parseConfig(stream(`${RID} drm cpix url=http://k rotate_segments=5;`), FILE).streams[0]!;
    expect(keyRotation(bySegments.drm!)).toEqual({ segments: 5 });
    expect(keyRotation(parseConfig(stream(`${RID} drm local;`), FILE).streams[0]!.drm!)).toBeUndefined();
  });

  it('refuses rotation that cannot work, with positions', () => {
    expect(errorOf(stream(`${RID} drm local rotate=30s;`))).toBe("x.conf:3:63: rotate= must be a whole number of seconds of at least 60 (e.g. 10m), not '30s'");
    expect(errorOf(stream(`${RID} drm local rotate=10m rotate_segments=3;`))).toMatch(/^x\.conf:3:\d+: give rotate= .* not both$/);
    expect(errorOf(stream(`${RID} drm static key=000102030405060708090a0b0c0d0e0f rotate=10m;`))).toMatch(/key rotation needs keys per KeyID/);
    expect(errorOf('file vod {\n  path /v;\n  drm local rotate=10m;\n}\n')).toBe('x.conf:3:3: key rotation (rotate=, rotate_segments=) applies to live streams, not to files');
  });

  it('needs the KeyID of a protected stream', () => {
    expect(errorOf(stream('drm local;'))).toBe("x.conf:3:3: protected stream 'tv' needs 'resource_id UUID;' (its KeyID)");
    expect(errorOf(stream('drm static key=000102030405060708090a0b0c0d0e0f kid=5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b;'))).toBe('no error');
  });
});
