import { describe, it, expect } from 'vitest';
import { ConfigError, formatAt, isConfigError } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/parse.js';
import { ErrorCode, PackagerError } from '../../../src/media/errors.js';

const FILE = 'x.conf';

function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`expected a ConfigError for:\n${text}`);
}

/** Checks the message and that file, line, column and reason carry the same place and text. */
function expectError(text: string, expected: string): void {
  const e = errorOf(text);
  expect(e.message).toBe(expected);
  const m = /^([^:]+):(\d+):(\d+): (.*)$/s.exec(expected);
  expect(m).not.toBeNull();
  expect([e.file, e.line, e.column, e.reason]).toEqual([m?.[1], Number(m?.[2]), Number(m?.[3]), m?.[4]]);
}

/** A file block whose third line is `line`. */
function inFile(line: string): string {
  return `file vod {\n  path /v;\n  ${line}\n}`;
}

/** A stream block whose third line is `line`. */
function inStream(line: string): string {
  return `stream s {\n  input udp://1.2.3.4:5;\n  ${line}\n}`;
}

describe('ConfigError', () => {
  it('is a PackagerError with the config code, not exposed to clients', () => {
    const e = errorOf('nope;');
    expect(e).toBeInstanceOf(PackagerError);
    expect(isConfigError(e)).toBe(true);
    expect(e.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(e.expose).toBe(false);
    expect(e.name).toBe('ConfigError');
  });

  it('formats FILE:LINE:COLUMN: message', () => {
    expect(formatAt({ file: 'a/b.conf', line: 3, column: 7 }, 'bad')).toBe('a/b.conf:3:7: bad');
    expect(new ConfigError({ file: 'f', line: 1, column: 2 }, 'why').message).toBe('f:1:2: why');
  });
});

describe('structure errors', () => {
  it.each([
    ['missing ; before the next directive', 'http 8080\nfile vod { path /v; }', "x.conf:1:10: missing ';' after '8080'"],
    ['missing ; before }', 'file vod {\n  path /v\n}', "x.conf:2:10: missing ';' after '/v'"],
    ['missing ; inside a block', 'file vod {\n  path /v\n  protocols hls;\n}', "x.conf:2:10: missing ';' after '/v'"],
    ['missing ; at the end of the file', 'http 8080', "x.conf:1:10: missing ';' after '8080'"],
    ['missing ; after a quoted value', 'file vod {\n  path "/a b"\n}', "x.conf:2:14: missing ';' after '/a b'"],
    [
      'missing } at the end of the file',
      'file vod {\n  path /v;\n',
      "x.conf:2:11: missing '}': 'file vod' opened at 1:10 is not closed",
    ],
    [
      'missing } before the next block',
      'file vod {\n  path /v;\nfile drm {\n  path /d;\n}\n',
      "x.conf:3:1: missing '}' before 'file': 'file vod' opened at 1:10 is not closed",
    ],
    [
      'missing } before a stream block',
      'file vod {\n  path /v;\n\nstream s {\n  input udp://1.2.3.4:5;\n}\n',
      "x.conf:4:1: missing '}' before 'stream': 'file vod' opened at 1:10 is not closed",
    ],
    ['a } with no block open', 'file vod { path /v; }\n}', "x.conf:2:1: unexpected '}': no block is open"],
    ['an empty directive', 'http 8080;;', "x.conf:1:11: unexpected ';': no directive before it"],
    ['a ; after a block', 'file vod { path /v; };', "x.conf:1:22: unexpected ';': no directive before it"],
    ['a block with no directive', '{ }', "x.conf:1:1: unexpected '{': a block must follow a directive, as in 'file NAME {'"],
    ['a quoted directive name', '"http" 80;', 'x.conf:1:1: expected a directive name, found a quoted string'],
    ['an unterminated string', 'file vod {\n  path "/v;\n}', 'x.conf:2:8: unterminated string: missing closing "'],
  ])('%s', (_what, text, expected) => expectError(text, expected));
});

describe('directive errors', () => {
  it.each([
    ['an unknown top-level directive', 'http 8080;\nlisten 80;', "x.conf:2:1: unknown directive 'listen' at top level"],
    [
      'an unknown directive in a file block',
      inFile('segment_length 4;'),
      "x.conf:3:3: unknown directive 'segment_length' in a file block",
    ],
    [
      'a stream directive in a file block',
      inFile('input udp://1.2.3.4:5;'),
      "x.conf:3:3: unknown directive 'input' in a file block (allowed in a stream block)",
    ],
    [
      'a file directive in a stream block',
      inStream('path /v;'),
      "x.conf:3:3: unknown directive 'path' in a stream block (allowed in a file block)",
    ],
    [
      'a block directive at top level',
      'protocols hls;',
      "x.conf:1:1: unknown directive 'protocols' at top level (allowed in a file block or a stream block)",
    ],
    ['a repeated http', 'http 80;\nhttp 81;', "x.conf:2:1: duplicate 'http' (first at 1:1)"],
    ['a repeated path', 'file vod {\n  path /a;\n  path /b;\n}', "x.conf:3:3: duplicate 'path' (first at 2:3)"],
    ['a repeated drm', `${inFile('drm local;')}`.replace('}', '  drm local;\n}'), "x.conf:4:3: duplicate 'drm' (first at 3:3)"],
    ['too many values', 'http 80 81;', "x.conf:1:9: unexpected '81': expected http PORT or http HOST:PORT"],
    ['no value', 'http;', 'x.conf:1:5: missing value: expected http PORT or http HOST:PORT'],
    ['file without a block', 'file vod;', "x.conf:1:9: 'file' needs a block: expected file NAME { ... }"],
    ['file without a name', 'file { path /a; }', 'x.conf:1:6: missing value: expected file NAME { ... }'],
    ['a block after a simple directive', 'http 80 { }', "x.conf:1:9: 'http' does not take a block: expected http PORT or http HOST:PORT"],
    ['a file block without path', 'file vod {\n  protocols hls;\n}', "x.conf:1:1: file 'vod' needs a 'path'"],
    ['a stream without input', 'stream s {\n  protocols hls;\n}', "x.conf:1:1: stream 's' needs at least one 'input'"],
  ])('%s', (_what, text, expected) => expectError(text, expected));
});

describe('name errors', () => {
  it.each([
    [
      'a duplicate location',
      'file vod { path /a; }\nfile vod { path /b; }',
      "x.conf:2:6: duplicate name 'vod': already used by file 'vod' at 1:6",
    ],
    [
      'a file named like a stream, in another case',
      'stream Live { input udp://1.2.3.4:5; }\nfile live { path /b; }',
      "x.conf:2:6: duplicate name 'live': already used by stream 'Live' at 1:8",
    ],
    ['a space in a name', 'file "my vod" { path /a; }', "x.conf:1:6: invalid name 'my vod': use only letters, digits, '_', '.' and '-'"],
    ['a slash in a name', 'file a/b { path /a; }', "x.conf:1:6: invalid name 'a/b': use only letters, digits, '_', '.' and '-'"],
    ['a name of dots only', 'file .. { path /a; }', "x.conf:1:6: invalid name '..': use only letters, digits, '_', '.' and '-'"],
    ['an empty name', 'file "" { path /a; }', "x.conf:1:6: invalid name '': use only letters, digits, '_', '.' and '-'"],
  ])('%s', (_what, text, expected) => expectError(text, expected));

  it.each(['keys', 'license', 'api', 'metrics', 'player'])('the reserved prefix %s', (name) => {
    expectError(`file vod { path /a; }\nfile ${name} { path /b; }`, `x.conf:2:6: name '${name}' is reserved for the server's /${name}/ URLs`);
  });

  it('reserved prefixes in any case, for streams too', () => {
    expectError('stream Metrics { input udp://1.2.3.4:5; }', "x.conf:1:8: name 'Metrics' is reserved for the server's /metrics/ URLs");
  });
});

describe('value errors', () => {
  it.each([
    ['port too large', 'http 65536;', 'x.conf:1:6: port 65536 is out of range 1..65535'],
    ['port zero', 'http 0;', 'x.conf:1:6: port 0 is out of range 1..65535'],
    ['port not a number', 'http abc;', "x.conf:1:6: invalid listen address 'abc': expected PORT, HOST:PORT or [IPV6]:PORT"],
    ['IPv6 without brackets', 'http ::1:80;', "x.conf:1:6: invalid listen address '::1:80': expected PORT, HOST:PORT or [IPV6]:PORT"],
    ['a bad port after a host', 'http host:x;', "x.conf:1:6: invalid port 'x': expected a number 1..65535"],
    ['an unknown protocol', inFile('protocols hls rtmp;'), "x.conf:3:17: unknown protocol 'rtmp': expected hls or dash"],
    ['no protocol', 'file vod { path /v; protocols; }', 'x.conf:1:30: missing value: expected protocols hls dash'],
    ['a protocol twice', 'file vod { path /v; protocols hls hls; }', "x.conf:1:35: protocol 'hls' is listed twice"],
    [
      'a segment_duration too short',
      'file vod { path /v; segment_duration 0.5; }',
      'x.conf:1:38: segment_duration 0.5 is out of range 1..60 seconds',
    ],
    [
      'a segment_duration too long',
      'file vod { path /v; segment_duration 61; }',
      'x.conf:1:38: segment_duration 61 is out of range 1..60 seconds',
    ],
    [
      'a segment_duration with a unit',
      'file vod { path /v; segment_duration 4s; }',
      "x.conf:1:38: invalid segment_duration '4s': expected a number of seconds",
    ],
    ['an empty path', 'file vod { path ""; }', 'x.conf:1:17: empty path'],
    [
      'a bad resource_id',
      inStream('resource_id 1234;'),
      "x.conf:3:15: invalid resource_id '1234': expected a UUID (32 hex digits, dashes optional)",
    ],
    [
      'a non-udp input',
      'stream s {\n  input rtmp://x/app;\n}',
      "x.conf:2:9: invalid input 'rtmp://x/app': unsupported scheme 'rtmp:' (only udp is supported); expected udp://[IFACE@]HOST:PORT[?options]",
    ],
    [
      'an input without port',
      'stream s {\n  input udp://239.0.0.1;\n}',
      "x.conf:2:9: invalid input 'udp://239.0.0.1': missing port; expected udp://[IFACE@]HOST:PORT[?options]",
    ],
    [
      'an input with an unknown option',
      'stream s {\n  input udp://239.0.0.1:1234?buffer=1m;\n}',
      "x.conf:2:9: invalid input 'udp://239.0.0.1:1234?buffer=1m': unknown option 'buffer' (known: rcvbuf, source, program, iface, rtp)",
    ],
    [
      'a dvr depth with an unknown unit',
      inStream('dvr /d 2w;'),
      "x.conf:3:10: invalid duration '2w': expected e.g. 90s, 30m, 2h, 1d or a number of seconds",
    ],
    ['a zero dvr depth', inStream('dvr /d 0;'), "x.conf:3:10: duration '0' must be more than zero"],
    ['a dvr without depth', inStream('dvr /d;'), 'x.conf:3:9: missing value: expected dvr PATH DEPTH'],
  ])('%s', (_what, text, expected) => expectError(text, expected));
});

describe('drm errors', () => {
  const KEY = '000102030405060708090a0b0c0d0e0f';
  it.each([
    ['an unknown kind', inFile('drm widevine;'), "x.conf:3:7: unknown drm kind 'widevine': expected local, static, keyos, cpix"],
    ['no kind', 'file vod { path /v; drm; }', 'x.conf:1:24: missing value: expected drm local|static|keyos|cpix [key=value ...]'],
    ['a short static key', inFile('drm static key=0011;'), 'x.conf:3:14: invalid key: expected 32 hex digits (16 bytes)'],
    ['a non-hex static key', inFile(`drm static key=${'z'.repeat(32)};`), 'x.conf:3:14: invalid key: expected 32 hex digits (16 bytes)'],
    [
      'a static key missing',
      inFile(`drm static kid=${KEY};`),
      'x.conf:3:7: drm static needs key=...: expected drm static key=HEX32|v1:WRAPPED [kid=UUID]',
    ],
    [
      'a bad kid',
      inFile(`drm static key=${KEY} kid=1234;`),
      "x.conf:3:51: invalid kid '1234': expected a UUID (32 hex digits, dashes optional)",
    ],
    ['an option without =', inFile('drm keyos YOUR_KEY;'), "x.conf:3:13: expected key=value, found 'YOUR_KEY'"],
    ['an option without key', inFile('drm keyos =u;'), "x.conf:3:13: expected key=value, found '=u'"],
    ['an empty option value', inFile('drm keyos userkey=;'), "x.conf:3:13: empty value for 'userkey'"],
    [
      'an unknown option',
      inFile('drm keyos userkey=u foo=bar;'),
      "x.conf:3:23: unknown option 'foo' for drm keyos: expected userkey, server_key, url, timeout, retries, dash, hls, ts, systems, la_url_widevine, la_url_playready, la_url_fairplay, fairplay_cert, license_header, license_auth, license_auth_url, rotate, rotate_segments",
    ],
    ['an unknown DRM system', inFile('drm keyos userkey=u systems=widevine,marlin;'), "x.conf:3:23: systems= takes a comma-separated list of widevine, playready, fairplay, clearkey, not 'marlin'"],
    ['a licence URL that is not http', inFile('drm cpix url=http://k la_url_widevine=ftp://x;'), "x.conf:3:25: invalid la_url_widevine 'ftp://x': expected an http:// or https:// URL"],
    ['a relative FairPlay certificate path', inFile('drm keyos userkey=u fairplay_cert=cert.der;'), "x.conf:3:23: fairplay_cert= must be an absolute file path or an http(s) URL, not 'cert.der'"],
    ['license_auth without a header for cpix', inFile('drm cpix url=http://k license_auth=x;'), 'x.conf:3:7: license_auth= and license_auth_url= need license_header=NAME (the header the licence server reads)'],
    ['an option to drm local', inFile('drm local key=1;'), "x.conf:3:13: unknown option 'key' for drm local: expected dash, hls, ts, systems, la_url_widevine, la_url_playready, la_url_fairplay, fairplay_cert, license_header, license_auth, license_auth_url, rotate, rotate_segments"],
    [
      'keyos without userkey',
      inFile('drm keyos url=https://k;'),
      'x.conf:3:7: drm keyos needs userkey=...: expected drm keyos userkey=USERKEY [server_key=KEY] [url=URL]',
    ],
    [
      'a keyos url that is not http',
      inFile('drm keyos userkey=u url=ftp://k;'),
      "x.conf:3:23: invalid url 'ftp://k': expected an http:// or https:// URL",
    ],
    ['an option twice', inFile('drm keyos userkey=a userkey=b;'), "x.conf:3:23: option 'userkey' is given twice"],
    [
      'cpix without url',
      inFile('drm cpix header A=b;'),
      'x.conf:3:7: drm cpix needs url=...: expected drm cpix url=URL [header NAME=VALUE ...]',
    ],
    ['a cpix header without value', inFile('drm cpix url=http://k header;'), "x.conf:3:25: missing value: expected 'header NAME=VALUE'"],
    ['a bad header name', inFile('drm cpix url=http://k header "X Y=z";'), "x.conf:3:32: invalid header name 'X Y'"],
    [
      'the same header in another case',
      inFile('drm cpix url=http://k header A=1 header a=2;'),
      "x.conf:3:43: header 'a' is given twice",
    ],
    ['a header for keyos', inFile('drm keyos userkey=u header A=b;'), "x.conf:3:23: expected key=value, found 'header'"],
    [
      'a bad drm in a stream',
      inStream('drm static key=xyz;'),
      'x.conf:3:14: invalid key: expected 32 hex digits (16 bytes)',
    ],
  ])('%s', (_what, text, expected) => expectError(text, expected));
});

describe('error order', () => {
  it('reports the first problem in the file', () => {
    expectError('http 0;\nbogus;', 'x.conf:1:6: port 0 is out of range 1..65535');
    expectError('file a { path /a; segment_duration 0; }\nfile a { path /b; }', 'x.conf:1:36: segment_duration 0 is out of range 1..60 seconds');
  });
});

describe('access control and key storage errors', () => {
  const SECRET = 'a-token-secret-of-32-characters-1';
  it.each([
    ['a short token_secret', inFile('token_secret short;'), "x.conf:3:16: token_secret is too short (5 characters): at least 32, e.g. the output of 'openssl rand -hex 32'"],
    ['a short second token_secret', `token_secret ${SECRET} abc;`, 'x.conf:1:48: token_secret is too short (3 characters): at least 32, e.g. the output of \'openssl rand -hex 32\''],
    ['the same token_secret twice', `token_secret ${SECRET} ${SECRET};`, 'x.conf:1:48: the same token_secret is given twice'],
    ['token_secret off with a value', inStream(`token_secret off ${SECRET};`), "x.conf:3:20: unexpected 'value': 'token_secret off' takes nothing else"],
    ['token_secret without a value', inFile('token_secret;'), 'x.conf:3:15: missing value: expected token_secret SECRET [OLD_SECRET ...] or token_secret off'],
    ['a repeated token_secret', `${inFile(`token_secret ${SECRET};`)}`.replace('}', `  token_secret ${SECRET};\n}`), "x.conf:4:3: duplicate 'token_secret' (first at 3:3)"],
    ['an auth URL that is not http', inFile('auth ftp://a/b;'), "x.conf:3:8: invalid auth URL 'ftp://a/b': expected an http:// or https:// URL"],
    ['auth without a URL', 'auth;', 'x.conf:1:5: missing value: expected auth URL or auth off'],
    ['auth with two URLs', inStream('auth http://a http://b;'), "x.conf:3:17: unexpected 'http://b': expected auth URL or auth off"],
    ['kek_file in a block', inFile('kek_file /k;'), "x.conf:3:3: unknown directive 'kek_file' in a file block (allowed in top level)"],
    ['key_rate_limit in a block', inFile('key_rate_limit off;'), "x.conf:3:3: unknown directive 'key_rate_limit' in a file block (allowed in top level)"],
    ['a bad burst', 'key_rate_limit 0 5;', "x.conf:1:16: invalid burst '0': expected a whole number of requests, at least 1"],
    ['a bad rate', 'key_rate_limit 10 -1;', "x.conf:1:19: invalid rate '-1': expected a number more than zero"],
    ['a burst without a rate', 'key_rate_limit 10;', 'x.conf:1:18: missing value: expected key_rate_limit BURST PER_SECOND or key_rate_limit off'],
    ['a bad ts method', inFile('drm local ts=aes;'), "x.conf:3:13: ts= must be aes-128 or sample-aes, not 'aes'"],
    ['a malformed wrapped key', inFile('drm static key=v1:abc;'), "x.conf:3:14: invalid wrapped key: expected v1: and 64 base64url characters, as 'packager wrap-key' prints"],
  ])('%s', (_what, text, expected) => expectError(text, expected));

  it('never echoes a token secret or a key in a message', () => {
    const secret = 'x'.repeat(31);
    expect(errorOf(inFile(`token_secret ${secret};`)).message).not.toContain(secret);
    expect(errorOf(inFile(`token_secret off ${'y'.repeat(40)};`)).message).not.toContain('yyyy');
  });
});

