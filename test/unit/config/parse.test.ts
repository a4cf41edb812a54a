import { describe, it, expect } from 'vitest';
import { resolve } from 'node:path';
import type { Config, DrmConfig, StreamConfig } from '../../../src/config/model.js';
import { parseConfig } from '../../../src/config/parse.js';

const DEFAULT_SCHEMES = { dash: 'cenc', hls: 'cbcs', ts: 'aes-128' } as const;

const FILE = '/etc/packager/test.conf';

function at(line: number, column: number, file = FILE): { file: string; line: number; column: number } {
  return { file, line, column };
}

function onlyFile(text: string): Config['files'][number] {
  const config = parseConfig(text, FILE);
  const [first] = config.files;
  if (first === undefined || config.files.length !== 1) throw new Error('expected one file location');
  return first;
}

function drmOf(drmLine: string): DrmConfig | undefined {
  return onlyFile(`file a {\n  path /x;\n  ${drmLine}\n}`).drm;
}

function onlyStream(body: string): StreamConfig {
  const [first] = parseConfig(`stream s {\n  input udp://239.0.0.1:1234;\n${body}\n}`, FILE).streams;
  if (first === undefined) throw new Error('expected a stream');
  return first;
}

const EXAMPLE = `# comment to end of line
http 8080;
secret_file /var/lib/packager/secret;     # (later issues; parse it)
file vod {                      # clear VOD location: URL prefix /vod/
  path /storage/vod;            # relative paths are resolved against the config file's directory
  protocols hls dash;
  segment_duration 4;
}
file drm {
  path "/storage/with space";   # quoted strings
  protocols hls dash;
  drm keyos userkey=YOUR_USER_KEY;
}
stream example_stream {
  input udp://239.0.0.1:1234;
  protocols hls dash;
  resource_id 5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b;
  drm static key=00112233445566778899AABBCCDDEEFF kid=0123456789ABCDEF0123456789abcdef;
  dvr /storage/dvr 2h;
  segment_duration 4;
}
`;

describe('parseConfig: the documented example', () => {
  it('gives the full typed model with positions', () => {
    const expected: Config = {
      file: FILE,
      http: { host: '0.0.0.0', port: 8080 },
      secretFile: '/var/lib/packager/secret',
      at: { http: at(2, 1), secret_file: at(3, 1), file: at(4, 1), stream: at(14, 1) },
      files: [
        {
          kind: 'file',
          name: 'vod',
          path: '/storage/vod',
          protocols: ['hls', 'dash'],
          segmentDuration: 4,
          pos: at(4, 1),
          at: { path: at(5, 3), protocols: at(6, 3), segment_duration: at(7, 3) },
        },
        {
          kind: 'file',
          name: 'drm',
          path: '/storage/with space',
          protocols: ['hls', 'dash'],
          segmentDuration: 4,
          drm: { kind: 'keyos', userkey: 'YOUR_USER_KEY', options: { userkey: 'YOUR_USER_KEY' }, pos: at(12, 3), schemes: DEFAULT_SCHEMES },
          pos: at(9, 1),
          at: { path: at(10, 3), protocols: at(11, 3), drm: at(12, 3) },
        },
      ],
      streams: [
        {
          kind: 'stream',
          name: 'example_stream',
          inputs: ['udp://239.0.0.1:1234'],
          inputPositions: [at(15, 3)],
          protocols: ['hls', 'dash'],
          resourceId: '5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b',
          drm: {
            kind: 'static',
            key: '00112233445566778899aabbccddeeff',
            kid: '01234567-89ab-cdef-0123-456789abcdef',
            options: { key: '00112233445566778899aabbccddeeff', kid: '01234567-89ab-cdef-0123-456789abcdef' },
            pos: at(18, 3),
            schemes: DEFAULT_SCHEMES,
          },
          dvr: { path: '/storage/dvr', depthSeconds: 7200, pos: at(19, 3) },
          segmentDuration: 4,
          pos: at(14, 1),
          at: {
            input: at(15, 3),
            protocols: at(16, 3),
            resource_id: at(17, 3),
            drm: at(18, 3),
            dvr: at(19, 3),
            segment_duration: at(20, 3),
          },
        },
      ],
    };
    expect(parseConfig(EXAMPLE, FILE)).toStrictEqual(expected);
  });
});

describe('parseConfig: defaults and values', () => {
  it('defaults http to 0.0.0.0:8080, protocols to hls dash and segment_duration to 4', () => {
    const config = parseConfig('file vod { path /v; }', FILE);
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.at).toEqual({ file: at(1, 1) });
    expect(config.secretFile).toBeUndefined();
    expect(config.files[0]).toMatchObject({ protocols: ['hls', 'dash'], segmentDuration: 4, at: { path: at(1, 12) } });
    expect(config.files[0]?.drm).toBeUndefined();
  });

  it('accepts an empty config', () => {
    expect(parseConfig('# nothing here\n', FILE)).toStrictEqual({
      file: FILE,
      http: { host: '0.0.0.0', port: 8080 },
      files: [],
      streams: [],
      at: {},
    });
  });

  it.each([
    ['1', { host: '0.0.0.0', port: 1 }],
    ['65535', { host: '0.0.0.0', port: 65535 }],
    ['127.0.0.1:8081', { host: '127.0.0.1', port: 8081 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
    ['[::]:8080', { host: '::', port: 8080 }],
  ])('reads http %s', (value, expected) => {
    expect(parseConfig(`http ${value};`, FILE).http).toEqual(expected);
  });

  it('keeps the order of protocols and accepts one', () => {
    expect(onlyFile('file a { path /x; protocols dash hls; }').protocols).toEqual(['dash', 'hls']);
    expect(onlyFile('file a { path /x; protocols dash; }').protocols).toEqual(['dash']);
    expect(onlyFile('file a { path /x; protocols "hls"; }').protocols).toEqual(['hls']);
  });

  it.each([
    ['1', 1],
    ['2.5', 2.5],
    ['6', 6],
    ['60', 60],
    ['10.000', 10],
  ])('reads segment_duration %s', (value, expected) => {
    expect(onlyFile(`file a { path /x; segment_duration ${value}; }`).segmentDuration).toBe(expected);
  });

  it.each([
    ['2h', 7200],
    ['30m', 1800],
    ['90s', 90],
    ['1d', 86400],
    ['3600', 3600],
    ['1.5h', 5400],
  ])('reads dvr depth %s', (value, seconds) => {
    expect(onlyStream(`  dvr /d ${value};`).dvr?.depthSeconds).toBe(seconds);
  });

  it('normalises resource_id to a lowercase dashed UUID', () => {
    const id = '5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b';
    expect(onlyStream(`  resource_id ${id.toUpperCase()};`).resourceId).toBe(id);
    expect(onlyStream(`  resource_id ${id.replaceAll('-', '')};`).resourceId).toBe(id);
  });

  it('takes repeated inputs in order, each with its position', () => {
    const s = onlyStream('  input udp://eth1@239.0.0.2:5000;\n  input "udp://[ff02::1]:1234";');
    expect(s.inputs).toEqual(['udp://239.0.0.1:1234', 'udp://eth1@239.0.0.2:5000', 'udp://[ff02::1]:1234']);
    expect(s.inputPositions).toEqual([at(2, 3), at(3, 3), at(4, 3)]);
    expect(s.at.input).toEqual(at(2, 3));
  });

  it('accepts names made of letters, digits, _ . and -', () => {
    const config = parseConfig('file a.B_c-9 { path /x; }\nstream live-1.hd { input udp://1.2.3.4:5; }', FILE);
    expect(config.files.map((f) => f.name)).toEqual(['a.B_c-9']);
    expect(config.streams.map((s) => s.name)).toEqual(['live-1.hd']);
  });

  it('lets a location name contain a reserved word', () => {
    expect(onlyFile('file apikeys { path /x; }').name).toBe('apikeys');
  });
});

describe('parseConfig: drm forms', () => {
  it('reads drm local', () => {
    expect(drmOf('drm local;')).toStrictEqual({ kind: 'local', options: {}, pos: at(3, 3), schemes: DEFAULT_SCHEMES });
    expect(drmOf('drm local dash=cbcs hls=cenc;')?.schemes).toStrictEqual({ dash: 'cbcs', hls: 'cenc', ts: 'aes-128' });
    expect(drmOf('drm local ts=sample-aes;')?.schemes).toStrictEqual({ dash: 'cenc', hls: 'cbcs', ts: 'sample-aes' });
  });

  it('reads drm static with and without kid', () => {
    expect(drmOf('drm static key=000102030405060708090a0b0c0d0e0f;')).toStrictEqual({
      kind: 'static',
      key: '000102030405060708090a0b0c0d0e0f',
      options: { key: '000102030405060708090a0b0c0d0e0f' },
      pos: at(3, 3),
      schemes: DEFAULT_SCHEMES,
    });
    const dashed = drmOf('drm static kid=A1B2C3D4-0000-1111-2222-333344445555 key=000102030405060708090A0B0C0D0E0F;');
    expect(dashed).toMatchObject({
      key: '000102030405060708090a0b0c0d0e0f',
      kid: 'a1b2c3d4-0000-1111-2222-333344445555',
    });
  });

  it('reads drm keyos with its optional server_key and url', () => {
    expect(drmOf('drm keyos userkey=U1 server_key="s e c" url=https://keyos.example/api;')).toStrictEqual({
      kind: 'keyos',
      userkey: 'U1',
      serverKey: 's e c',
      url: 'https://keyos.example/api',
      options: { userkey: 'U1', server_key: 's e c', url: 'https://keyos.example/api' },
      pos: at(3, 3),
      schemes: DEFAULT_SCHEMES,
    });
  });

  it('reads drm cpix with headers, quoted values and = inside values', () => {
    const drm = drmOf(
      'drm cpix url=https://kms.example/speke/v2?x=1 header X-Api-Key=a=b header Authorization="Bearer t o k";',
    );
    expect(drm).toStrictEqual({
      kind: 'cpix',
      url: 'https://kms.example/speke/v2?x=1',
      headers: { 'X-Api-Key': 'a=b', Authorization: 'Bearer t o k' },
      options: { url: 'https://kms.example/speke/v2?x=1' },
      pos: at(3, 3),
      schemes: DEFAULT_SCHEMES,
    });
  });

  it('reads drm options written over several lines', () => {
    const drm = drmOf('drm cpix\n    url=http://kms:8080/\n    header A=1\n    header B=2;');
    expect(drm).toMatchObject({ url: 'http://kms:8080/', headers: { A: '1', B: '2' } });
  });
});

describe('parseConfig: paths', () => {
  it('resolves relative paths against the config file directory', () => {
    const config = parseConfig(
      'secret_file secret;\nfile vod { path ../media/vod; }\nstream s { input udp://1.2.3.4:5; dvr ./dvr 1h; }',
      '/etc/packager/conf/main.conf',
    );
    expect(config.secretFile).toBe('/etc/packager/conf/secret');
    expect(config.files[0]?.path).toBe('/etc/packager/media/vod');
    expect(config.streams[0]?.dvr?.path).toBe('/etc/packager/conf/dvr');
  });

  it('resolves a relative config file name against the working directory, but names it as given', () => {
    const config = parseConfig('file vod { path media; }', 'conf/main.conf');
    expect(config.file).toBe(resolve('conf/main.conf'));
    expect(config.files[0]?.path).toBe(resolve('conf/media'));
    expect(config.files[0]?.pos.file).toBe('conf/main.conf');
  });

  it('keeps absolute paths and normalises them', () => {
    expect(onlyFile('file a { path /x/./y/../z/; }').path).toBe('/x/z');
  });

  it('keeps spaces and # inside quoted paths', () => {
    expect(onlyFile("file a { path '/media/my films #1'; }").path).toBe('/media/my films #1');
  });
});

describe('parseConfig: access control and key storage', () => {
  const S1 = 'a-token-secret-of-32-characters-1';
  const S2 = 'another-secret-of-32-characters-2';

  it('reads token_secret, auth, kek_file and key_rate_limit at top level', () => {
    const config = parseConfig(
      `token_secret ${S1} ${S2};\nauth https://auth.example/check?site=1;\nkek_file keys/kek;\nkey_rate_limit 40 2.5;\nfile a { path /x; }`,
      FILE,
    );
    expect(config.tokenSecrets).toEqual([S1, S2]);
    expect(config.auth).toBe('https://auth.example/check?site=1');
    expect(config.kekFile).toBe(resolve('/etc/packager/keys/kek'));
    expect(config.keyRateLimit).toEqual({ burst: 40, perSecond: 2.5 });
    expect(config.at).toMatchObject({ token_secret: at(1, 1), auth: at(2, 1), kek_file: at(3, 1), key_rate_limit: at(4, 1) });
    expect(parseConfig('key_rate_limit off;', FILE).keyRateLimit).toBe(false);
  });

  it('reads token_secret and auth per file and stream block, and their off forms', () => {
    const f = onlyFile(`file a {\n  path /x;\n  token_secret "${S1}";\n  auth http://127.0.0.1:9000/auth;\n}`);
    expect(f.tokenSecrets).toEqual([S1]);
    expect(f.auth).toBe('http://127.0.0.1:9000/auth');
    expect(f.at).toMatchObject({ token_secret: at(3, 3), auth: at(4, 3) });
    const off = onlyFile('file a { path /x; token_secret off; auth off; }');
    expect(off.tokenSecrets).toEqual([]);
    expect(off.auth).toBe(false);
    const s = onlyStream(`  token_secret ${S2};\n  auth http://a/b;`);
    expect(s.tokenSecrets).toEqual([S2]);
    expect(s.auth).toBe('http://a/b');
    // Nothing said: nothing in the model (the defaults apply at run time).
    const none = onlyFile('file a { path /x; }');
    expect('tokenSecrets' in none || 'auth' in none).toBe(false);
  });

  it('reads drm ts= and a wrapped static key', () => {
    expect(drmOf('drm local ts=sample-aes hls=cenc;')?.schemes).toStrictEqual({ dash: 'cenc', hls: 'cenc', ts: 'sample-aes' });
    const wrapped = `v1:${'A'.repeat(64)}`;
    expect(drmOf(`drm static key=${wrapped} kid=5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b;`)).toMatchObject({ kind: 'static', key: wrapped });
  });
});
