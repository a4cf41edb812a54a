import { describe, it, expect } from 'vitest';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/parse.js';
import { unsupportedFeatures } from '../../../src/config/stage.js';
import { ErrorCode, PackagerError } from '../../../src/media/errors.js';

const CONFIG = fileURLToPath(new URL('../../../config/packager.conf', import.meta.url));
const FIXTURES_VOD = fileURLToPath(new URL('../../../fixtures/vod', import.meta.url));

describe('config/packager.conf', () => {
  it('parses to a clear and a protected VOD location on the bundled fixtures', async () => {
    const config = await loadConfig(CONFIG);
    expect(config.file).toBe(CONFIG);
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.streams).toEqual([]);
    expect(config.files).toHaveLength(2);
    expect(config.files[0]).toMatchObject({
      kind: 'file',
      name: 'vod',
      path: FIXTURES_VOD,
      protocols: ['hls', 'dash'],
      segmentDuration: 4,
    });
    expect(config.files[0]?.drm).toBeUndefined();
    expect(config.files[1]).toMatchObject({ name: 'drm', path: FIXTURES_VOD, drm: { kind: 'local', schemes: { dash: 'cenc', hls: 'cbcs' } } });
  });

  it('points at a folder that exists, and asks for nothing the server cannot serve yet', async () => {
    const config = await loadConfig(CONFIG);
    const path = config.files[0]?.path ?? '';
    expect((await stat(path)).isDirectory()).toBe(true);
    expect(unsupportedFeatures(config)).toEqual([]);
  });
});

describe('loadConfig', () => {
  it('reports a missing file as a config error naming the path', async () => {
    const missing = '/nonexistent/packager.conf';
    const error: unknown = await loadConfig(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PackagerError);
    expect((error as PackagerError).code).toBe(ErrorCode.CONFIG_INVALID);
    expect((error as PackagerError).message).toMatch(/^\/nonexistent\/packager\.conf: cannot read config: ENOENT/);
  });
});
