// Protected locations end to end: the same files served clear and encrypted side by side; ffmpeg (an
// independent decryptor) must get the source frames back with the key from our licence endpoint, and
// must not with a wrong key; every failure mode answers an error, never clear media.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, writeFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, rawRequest, FIXTURES, type TestServer } from '../helpers/server.js';
import { frameHashes } from '../helpers/ffmpeg.js';
import { ErrorCode, PackagerError } from '../../src/media/errors.js';
import type { KeyProvider } from '../../src/keys/provider.js';

const KID_BFRAMES = '0b1c3e6a-5d2f-4c8e-9b1a-7f3e2d1c0b01';
const STATIC_KEY = '00112233445566778899aabbccddeeff';
const FIXED_KID = 'abcdefab-cdef-4bcd-8fab-cdefabcdefab';

let server: TestServer;
let lib: string;

beforeAll(async () => {
  server = await startTestServer('http 8080;\n');
  lib = join(server.dir, 'lib');
  await mkdir(lib);
  for (const f of ['bframes.mp4', 'hevc.mp4', 'two-audio.mp4']) {
    await copyFile(join(FIXTURES, f), join(lib, f));
    await copyFile(join(FIXTURES, `${f}.keyos_id`), join(lib, `${f}.keyos_id`));
  }
  await copyFile(join(FIXTURES, 'bframes.mp4'), join(lib, 'nokid.mp4'));
  await copyFile(join(FIXTURES, 'bframes.mp4'), join(lib, 'badkid.mp4'));
  await writeFile(join(lib, 'badkid.mp4.keyos_id'), 'not-a-uuid\n');
  await copyFile(join(FIXTURES, 'bframes.mp4'), join(lib, 'changing.mp4'));
  await writeFile(join(lib, 'changing.mp4.keyos_id'), '11111111-2222-3333-4444-555555555555\n');
  await writeFile(
    server.configPath,
    [
      'http 8080;',
      `secret_file ${join(server.dir, 'secret')};`,
      `file clear { path ${lib}; }`,
      `file drm { path ${lib}; drm local; }`,
      `file cbcs { path ${lib}; drm local dash=cbcs hls=cbcs; }`,
      `file ctr { path ${lib}; drm local hls=cenc; }`,
      `file fixed { path ${lib}; drm static key=${STATIC_KEY} kid=${FIXED_KID}; }`,
      '',
    ].join('\n'),
  );
  expect(await server.reload()).toBe(true);
});
afterAll(async () => server?.stop());

const get = (path: string, method = 'GET', headers: Record<string, string> = {}) => rawRequest(server.url, path, method, headers);

async function licence(kidUuid: string): Promise<{ status: number; key?: string; body: string }> {
  const kid = Buffer.from(kidUuid.replace(/-/g, ''), 'hex').toString('base64url');
  const res = await fetch(`${server.url}/license/clearkey`, { method: 'POST', body: JSON.stringify({ kids: [kid], type: 'temporary' }) });
  const body = await res.text();
  if (res.status !== 200) return { status: res.status, body };
  const j = JSON.parse(body) as { keys: Array<{ kty: string; kid: string; k: string }> };
  expect(j.keys[0]!.kty).toBe('oct');
  expect(j.keys[0]!.kid).toBe(kid);
  return { status: 200, key: Buffer.from(j.keys[0]!.k, 'base64url').toString('hex'), body };
}

/** init + every segment of one rendition, concatenated: what a player appends to its buffer. */
async function wholeTrack(base: string, dir: 'dash' | 'hls', id: string, count: number): Promise<Buffer> {
  const parts = [await get(`${base}/${dir}/${id}/init.mp4`)];
  for (let n = 1; n <= count; n++) parts.push(await get(`${base}/${dir}/${id}/${n}.m4s`));
  for (const p of parts) expect(p.status).toBe(200);
  return Buffer.concat(parts.map((p) => p.body));
}

/**
 * ffmpeg 5.1 decrypts CENC fragments correctly only when it reads them sequentially (from a pipe); on
 * a seekable file it applies the last fragment's sample auxiliary data to every fragment.
 */
function decryptFrames(data: Buffer, keyHex: string, map: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const ff = spawn('ffmpeg', ['-v', 'error', '-decryption_key', keyHex, '-i', 'pipe:0', '-map', map, '-fps_mode', 'passthrough', '-f', 'framemd5', '-']);
    let out = '';
    ff.stdout.on('data', (d: Buffer) => (out += d.toString()));
    ff.stdin.on('error', () => undefined);
    ff.on('error', reject);
    ff.on('close', () => resolve(out.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim())));
    ff.stdin.end(data);
  });
}

describe('encrypted outputs decrypted by ffmpeg with the key from the licence endpoint', () => {
  const cases: Array<[string, 'dash' | 'hls', string]> = [
    ['drm', 'dash', 'cenc'],
    ['drm', 'hls', 'cbcs'],
    ['cbcs', 'dash', 'cbcs'],
    ['ctr', 'hls', 'cenc'],
  ];
  for (const [loc, dir, scheme] of cases) {
    it(`${loc} ${dir} (${scheme}): video and audio frames equal the source's; a wrong key does not`, async () => {
      const base = `/${loc}/bframes.mp4`;
      const init = await get(`${base}/${dir}/v1/init.mp4`);
      expect(init.body.includes(Buffer.from('encv'))).toBe(true);
      expect(init.body.includes(Buffer.from(scheme))).toBe(true);
      expect(init.body.includes(Buffer.from(KID_BFRAMES.replace(/-/g, ''), 'hex'))).toBe(true);
      const { key } = await licence(KID_BFRAMES);
      const video = await wholeTrack(base, dir, 'v1', 3);
      const ref = await frameHashes(join(FIXTURES, 'bframes.mp4'), '0:v:0');
      expect(await decryptFrames(video, key!, '0:v:0')).toEqual(ref);
      const wrong = await decryptFrames(video, 'ffeeddccbbaa99887766554433221100', '0:v:0');
      expect(wrong).not.toEqual(ref);
      // Audio: the source's edit list trims the priming frame, so compare from the second frame on.
      const audio = await wholeTrack(base, dir, 'a2', 3);
      const refAudio = await frameHashes(join(FIXTURES, 'bframes.mp4'), '0:a:0');
      const outAudio = await decryptFrames(audio, key!, '0:a:0');
      expect(outAudio.slice(-(refAudio.length - 1))).toEqual(refAudio.slice(1));
    });
  }

  it('HEVC (cenc DASH) decrypts to the source frames too', async () => {
    const { key } = await licence('0b1c3e6a-5d2f-4c8e-9b1a-7f3e2d1c0b03');
    const mpd = (await get('/drm/hevc.mp4/index.mpd')).body.toString();
    const segments = (mpd.match(/<S /g) ?? []).length > 0 ? 2 : 0;
    expect(segments).toBe(2);
    const video = await wholeTrack('/drm/hevc.mp4', 'dash', 'v1', 2);
    expect(await decryptFrames(video, key!, '0:v:0')).toEqual(await frameHashes(join(FIXTURES, 'hevc.mp4'), '0:v:0'));
  });

  it('a static key with a fixed KID decrypts the same way', async () => {
    const video = await wholeTrack('/fixed/two-audio.mp4', 'dash', 'v1', 3);
    expect(video.includes(Buffer.from(FIXED_KID.replace(/-/g, ''), 'hex'))).toBe(true);
    expect((await licence(FIXED_KID)).key).toBe(STATIC_KEY);
    expect(await decryptFrames(video, STATIC_KEY, '0:v:0')).toEqual(await frameHashes(join(FIXTURES, 'two-audio.mp4'), '0:v:0'));
  });
});

describe('signalling', () => {
  it('DASH: mp4protection with default_KID and ClearKey with both Laurl spellings', async () => {
    const mpd = (await get('/drm/bframes.mp4/index.mpd')).body.toString();
    expect(mpd).toContain(`<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc" cenc:default_KID="${KID_BFRAMES}"/>`);
    expect(mpd).toContain('schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"');
    expect(mpd).toMatch(/<dashif:Laurl>http:\/\/127\.0\.0\.1:\d+\/license\/clearkey<\/dashif:Laurl>/);
    expect(mpd).toMatch(/<clearkey:Laurl Lic_type="EME-1.0">http:\/\/127\.0\.0\.1:\d+\/license\/clearkey<\/clearkey:Laurl>/);
    expect(mpd).toContain('xmlns:dashif="https://dashif.org/CPS"');
    expect(mpd).toContain('xmlns:clearkey="http://dashif.org/guidelines/clearKey"');
    expect((await get('/cbcs/bframes.mp4/index.mpd')).body.toString()).toContain('value="cbcs"');
  });

  it('the init carries a W3C common pssh v1 listing the KID', async () => {
    const init = (await get('/drm/bframes.mp4/dash/v1/init.mp4')).body;
    const at = init.indexOf(Buffer.from('pssh'));
    expect(at).toBeGreaterThan(0);
    const box = init.subarray(at - 4, at - 4 + init.readUInt32BE(at - 4));
    expect(box.toString('hex')).toBe(`0000003470737368010000001077efecc0b24d02ace33c1e52e2fb4b00000001${KID_BFRAMES.replace(/-/g, '')}00000000`);
  });

  it('HLS fMP4: SAMPLE-AES key before EXT-X-MAP, SESSION-KEY in the master, a key URI that answers 16 bytes', async () => {
    const media = (await get('/drm/bframes.mp4/hls/v1.m3u8')).body.toString();
    const keyLine = `#EXT-X-KEY:METHOD=SAMPLE-AES,URI="/keys/${KID_BFRAMES}",KEYFORMAT="identity",KEYFORMATVERSIONS="1"`;
    expect(media).toContain(keyLine);
    expect(media.indexOf(keyLine)).toBeLessThan(media.indexOf('#EXT-X-MAP'));
    const master = (await get('/drm/bframes.mp4/index.fmp4.m3u8')).body.toString();
    expect(master).toContain(`#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="/keys/${KID_BFRAMES}"`);
    expect((await get('/ctr/bframes.mp4/hls/v1.m3u8')).body.toString()).toContain('METHOD=SAMPLE-AES-CTR');
    const key = await get(`/keys/${KID_BFRAMES}`);
    expect(key.status).toBe(200);
    expect(key.body.length).toBe(16);
    expect(key.headers['content-type']).toBe('application/octet-stream');
    expect(key.headers['cache-control']).toBe('no-store');
    expect(key.body.toString('hex')).toBe((await licence(KID_BFRAMES)).key);
  });
});

describe('the licence endpoint', () => {
  it('answers a JWK set with CORS and no-store, and refuses unknown or malformed KIDs', async () => {
    const res = await fetch(`${server.url}/license/clearkey`, {
      method: 'POST',
      headers: { Origin: 'http://player.example' },
      body: JSON.stringify({ kids: [Buffer.from(KID_BFRAMES.replace(/-/g, ''), 'hex').toString('base64url')] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await licence('99999999-8888-7777-6666-555555555555')).status).toBe(404);
    const bad = await fetch(`${server.url}/license/clearkey`, { method: 'POST', body: '{"kids":["abc"]}' });
    expect(bad.status).toBe(400);
    const notJson = await fetch(`${server.url}/license/clearkey`, { method: 'POST', body: 'hello' });
    expect(notJson.status).toBe(400);
    expect((await get(`/keys/99999999-8888-7777-6666-555555555555`)).status).toBe(404);
  });
});

describe('fail closed', () => {
  it('never serves clear media from a protected location, whatever the query says', async () => {
    const clear = await get('/clear/bframes.mp4/dash/v1/2.m4s');
    for (const q of ['', '?clear=1', '?drm=none', '?encrypt=false']) {
      const enc = await get(`/drm/bframes.mp4/dash/v1/2.m4s${q}`);
      expect(enc.status).toBe(200);
      expect(enc.body.length).toBeGreaterThan(clear.body.length);
      // The clear mdat payload (its tail) must not appear in the encrypted segment.
      const tail = clear.body.subarray(clear.body.length - 4096);
      expect(enc.body.includes(tail)).toBe(false);
    }
    // The MPEG-TS output is encrypted too (AES-128 by default): no sync byte at packet starts, no clear bytes.
    expect((await get('/drm/bframes.mp4/index.m3u8')).status).toBe(200);
    const clearTs = await get('/clear/bframes.mp4/ts/v1/1.ts');
    const encTs = await get('/drm/bframes.mp4/ts/v1/1.ts');
    expect(encTs.status).toBe(200);
    expect(encTs.body.length % 16).toBe(0);
    expect(encTs.body.length).toBeGreaterThan(clearTs.body.length);
    expect(encTs.body[0] === 0x47 && encTs.body[188] === 0x47).toBe(false);
    expect(encTs.body.includes(clearTs.body.subarray(clearTs.body.length - 4096))).toBe(false);
  });

  it('refuses a file whose sidecar is missing or malformed (503) and logs the sidecar', async () => {
    for (const f of ['nokid', 'badkid']) {
      for (const path of [`/drm/${f}.mp4/index.mpd`, `/drm/${f}.mp4/dash/v1/1.m4s`, `/drm/${f}.mp4/hls/v1/init.mp4`]) {
        const r = await get(path);
        expect(r.status, path).toBe(503);
        expect(r.body.toString()).toContain(`${f}.mp4.keyos_id`);
        expect(r.body.includes(Buffer.from('mdat'))).toBe(false);
      }
    }
    expect(server.logs.some((l) => l.includes('no usable KeyID') && l.includes('nokid.mp4.keyos_id'))).toBe(true);
    // The same file is still served clear by the clear location.
    expect((await get('/clear/nokid.mp4/dash/v1/1.m4s')).status).toBe(200);
  });

  it('a changed sidecar takes effect at once', async () => {
    expect((await get('/drm/changing.mp4/index.mpd')).body.toString()).toContain('11111111-2222-3333-4444-555555555555');
    const side = join(lib, 'changing.mp4.keyos_id');
    await writeFile(side, '66666666-7777-8888-9999-aaaaaaaaaaaa\n');
    await utimes(side, new Date(), new Date(Date.now() + 3000));
    expect((await get('/drm/changing.mp4/index.mpd')).body.toString()).toContain('66666666-7777-8888-9999-aaaaaaaaaaaa');
  });

  it('answers 503 on every protected URL when the key source fails', async () => {
    const protection = server.state.protections.get('drm')!;
    const failing: KeyProvider = {
      kind: 'failing',
      getKey: () => Promise.reject(new PackagerError(ErrorCode.KEY_UNAVAILABLE, 'key server down')),
    };
    const original = protection.provider;
    (protection as { provider: KeyProvider }).provider = failing;
    try {
      for (const path of ['/drm/two-audio.mp4/index.mpd', '/drm/two-audio.mp4/dash/v1/1.m4s', '/drm/two-audio.mp4/hls/a2/init.mp4', '/drm/two-audio.mp4/hls/v1.m3u8']) {
        const r = await get(path);
        expect(r.status, path).toBe(503);
        expect(r.body.includes(Buffer.from('mdat'))).toBe(false);
        expect(r.headers['cache-control']).toBe('no-store');
      }
    } finally {
      (protection as { provider: KeyProvider }).provider = original;
    }
  });
});
