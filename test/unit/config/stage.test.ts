import { describe, it, expect } from 'vitest';
import { formatAt } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/parse.js';
import { unsupportedFeatures } from '../../../src/config/stage.js';
import { unsupportedFeatures as fromValidate } from '../../../src/config/validate.js';

const FILE = 'x.conf';

function messages(text: string): string[] {
  return unsupportedFeatures(parseConfig(text, FILE)).map((f) => formatAt(f.pos, f.message));
}

describe('unsupportedFeatures', () => {
  it('is empty for clear VOD locations', () => {
    expect(messages('http 8080;\nfile vod { path /v; protocols hls dash; segment_duration 6; }')).toEqual([]);
  });

  it('serves drm local and drm static on file locations', () => {
    expect(messages('file a { path /v; drm local; }\nfile b { path /v; drm static key=000102030405060708090a0b0c0d0e0f; }')).toEqual([]);
  });

  it('serves live streams, clear and protected', () => {
    const text = [
      'file vod { path /v; }',
      'file drm {',
      '  path /v;',
      '  drm keyos userkey=U;',
      '}',
      'stream live {',
      '  input udp://239.0.0.1:1234;',
      '  drm local;',
      '}',
      'stream other { input udp://239.0.0.2:1234; }',
    ].join('\n');
    expect(messages(text.replace('drm local;', 'resource_id 5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b;\n  drm local;'))).toEqual([]);
  });

  it('is also exported next to the validators', () => {
    expect(fromValidate).toBe(unsupportedFeatures);
  });
});
