/** drmSignalling(): the systems and licence upstreams of a `drm` directive, defaults applied. */
import { describe, expect, it } from 'vitest';
import { KEYOS_AUTH_HEADER, KEYOS_LICENSE_URLS, drmSignalling } from '../../../src/config/drm.js';
import type { DrmConfig } from '../../../src/config/model.js';
import { parseConfig } from '../../../src/config/parse.js';

const pos = { file: 't.conf', line: 1, column: 1 };
const schemes = { dash: 'cenc', hls: 'cbcs', ts: 'aes-128' } as const;

function local(options: Record<string, string> = {}): DrmConfig {
  return { kind: 'local', options, pos, schemes };
}
function staticKey(options: Record<string, string> = {}): DrmConfig {
  return { kind: 'static', key: '000102030405060708090a0b0c0d0e0f', options, pos, schemes };
}
function keyos(options: Record<string, string> = {}): DrmConfig {
  return { kind: 'keyos', userkey: 'U', options: { userkey: 'U', ...options }, pos, schemes };
}
function cpix(options: Record<string, string> = {}): DrmConfig {
  return { kind: 'cpix', url: 'https://kms/', headers: {}, options: { url: 'https://kms/', ...options }, pos, schemes };
}

function parsed(drmLine: string): DrmConfig {
  const [file] = parseConfig(`file a {\n  path /x;\n  ${drmLine}\n}`, '/t.conf').files;
  if (!file?.drm) throw new Error('no drm');
  return file.drm;
}

describe('drmSignalling defaults', () => {
  it('local and static: ClearKey only, no licence upstreams, no auth', () => {
    for (const d of [local(), staticKey()]) {
      expect(drmSignalling(d)).toStrictEqual({ systems: ['clearkey'], licenseUrls: {} });
    }
  });

  it("keyos: Widevine, PlayReady, FairPlay with KeyOS's licence servers", () => {
    expect(drmSignalling(keyos())).toStrictEqual({
      systems: ['widevine', 'playready', 'fairplay'],
      licenseUrls: {
        widevine: 'https://wv-keyos.licensekeyserver.com/',
        playready: 'https://pr-keyos.licensekeyserver.com/core/rightsmanager.asmx',
        fairplay: 'https://fp-keyos.licensekeyserver.com/getkey',
      },
    });
    expect(KEYOS_LICENSE_URLS).toStrictEqual(drmSignalling(keyos()).licenseUrls);
  });

  it('cpix: Widevine, PlayReady, FairPlay without licence upstreams', () => {
    expect(drmSignalling(cpix())).toStrictEqual({ systems: ['widevine', 'playready', 'fairplay'], licenseUrls: {} });
  });

  it('the same defaults come out of a parsed config', () => {
    expect(drmSignalling(parsed('drm local;')).systems).toStrictEqual(['clearkey']);
    expect(drmSignalling(parsed('drm static key=000102030405060708090a0b0c0d0e0f;')).systems).toStrictEqual(['clearkey']);
    expect(drmSignalling(parsed('drm keyos userkey=U;')).licenseUrls).toStrictEqual(KEYOS_LICENSE_URLS);
    expect(drmSignalling(parsed('drm cpix url=https://kms/;')).systems).toStrictEqual(['widevine', 'playready', 'fairplay']);
  });
});

describe('drmSignalling options', () => {
  it('systems= keeps the order as written', () => {
    expect(drmSignalling(keyos({ systems: 'fairplay,clearkey,widevine' })).systems).toStrictEqual(['fairplay', 'clearkey', 'widevine']);
    expect(drmSignalling(local({ systems: 'playready,widevine' })).systems).toStrictEqual(['playready', 'widevine']);
  });

  it('systems= from a config is trimmed and lower-cased, order kept', () => {
    expect(drmSignalling(parsed('drm local "systems=PlayReady, clearkey,Widevine";')).systems).toStrictEqual(['playready', 'clearkey', 'widevine']);
  });

  it('la_url_*= override the KeyOS defaults one by one, and are the only upstreams for other kinds', () => {
    expect(drmSignalling(keyos({ la_url_widevine: 'https://my/wv' })).licenseUrls).toStrictEqual({ ...KEYOS_LICENSE_URLS, widevine: 'https://my/wv' });
    expect(drmSignalling(cpix({ la_url_playready: 'https://my/pr' })).licenseUrls).toStrictEqual({ playready: 'https://my/pr' });
    expect(drmSignalling(local({ la_url_fairplay: 'https://my/fp' })).licenseUrls).toStrictEqual({ fairplay: 'https://my/fp' });
  });

  it('fairplay_cert= is passed through', () => {
    expect(drmSignalling(keyos({ fairplay_cert: '/etc/fp.der' })).fairplayCert).toBe('/etc/fp.der');
    expect(drmSignalling(keyos())).not.toHaveProperty('fairplayCert');
  });

  it('licence auth: keyos defaults the header to customdata; others need license_header=', () => {
    expect(KEYOS_AUTH_HEADER).toBe('customdata');
    expect(drmSignalling(keyos({ license_auth: 'T{kid}' })).licenseAuth).toStrictEqual({ header: 'customdata', template: 'T{kid}' });
    expect(drmSignalling(keyos({ license_auth_url: 'https://auth/' })).licenseAuth).toStrictEqual({ header: 'customdata', url: 'https://auth/' });
    expect(drmSignalling(keyos({ license_header: 'X-Auth', license_auth: 'T' })).licenseAuth).toStrictEqual({ header: 'X-Auth', template: 'T' });
    expect(drmSignalling(cpix({ license_header: 'X-Auth', license_auth: 'T' })).licenseAuth).toStrictEqual({ header: 'X-Auth', template: 'T' });
    // A header with nothing to put in it is no auth.
    expect(drmSignalling(keyos())).not.toHaveProperty('licenseAuth');
    expect(drmSignalling(cpix({ license_header: 'X-Auth' }))).not.toHaveProperty('licenseAuth');
  });
});
