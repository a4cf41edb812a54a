import { describe, it, expect } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { tokenize, type Token } from '../../../src/config/tokenizer.js';

function brief(tokens: Token[]): Array<[string, string, number, number]> {
  return tokens.map((t) => [t.kind, t.value, t.line, t.column]);
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('tokenize', () => {
  it('splits words and punctuation with 1-based line and column', () => {
    const tokens = tokenize('http 8080;\nfile vod {\n\tpath /a;\n}\n', 'a.conf');
    expect(brief(tokens)).toEqual([
      ['word', 'http', 1, 1],
      ['word', '8080', 1, 6],
      [';', ';', 1, 10],
      ['word', 'file', 2, 1],
      ['word', 'vod', 2, 6],
      ['{', '{', 2, 10],
      ['word', 'path', 3, 2],
      ['word', '/a', 3, 7],
      [';', ';', 3, 9],
      ['}', '}', 4, 1],
    ]);
    expect(tokens[0]).toMatchObject({ file: 'a.conf', endColumn: 5 });
  });

  it('ends a word at punctuation with no space before it', () => {
    expect(brief(tokenize('a{b;c}', 'f'))).toEqual([
      ['word', 'a', 1, 1],
      ['{', '{', 1, 2],
      ['word', 'b', 1, 3],
      [';', ';', 1, 4],
      ['word', 'c', 1, 5],
      ['}', '}', 1, 6],
    ]);
  });

  it('drops comments to the end of the line, also right after a word or semicolon', () => {
    const text = '# header\nhttp 8080;# trailing\npath /x#not-part\n  # indented { ; "\nend;';
    expect(brief(tokenize(text, 'f'))).toEqual([
      ['word', 'http', 2, 1],
      ['word', '8080', 2, 6],
      [';', ';', 2, 10],
      ['word', 'path', 3, 1],
      ['word', '/x', 3, 6],
      ['word', 'end', 5, 1],
      [';', ';', 5, 4],
    ]);
  });

  it('keeps # { } ; and spaces inside quotes, as a string token', () => {
    const tokens = tokenize('path "/a b#c{};" \'x y\';', 'f');
    expect(brief(tokens)).toEqual([
      ['word', 'path', 1, 1],
      ['string', '/a b#c{};', 1, 6],
      ['string', 'x y', 1, 18],
      [';', ';', 1, 23],
    ]);
    expect(tokens[1]?.endColumn).toBe(17);
  });

  it('resolves \\" and \\\\ escapes and keeps other backslashes', () => {
    const tokens = tokenize(String.raw`"a\"b" "c\\d" 'e\'f' "C:\dir\x" 'g"h' "i'j"`, 'f');
    expect(tokens.map((t) => t.value)).toEqual(['a"b', 'c\\d', "e'f", 'C:\\dir\\x', 'g"h', "i'j"]);
  });

  it('joins quoted and bare parts written without a space into one token', () => {
    const tokens = tokenize('header Authorization="Bearer a b";', 'f');
    expect(brief(tokens)).toEqual([
      ['word', 'header', 1, 1],
      ['string', 'Authorization=Bearer a b', 1, 8],
      [';', ';', 1, 34],
    ]);
  });

  it('makes an empty quoted string a token', () => {
    expect(brief(tokenize('path "";', 'f'))).toEqual([
      ['word', 'path', 1, 1],
      ['string', '', 1, 6],
      [';', ';', 1, 8],
    ]);
  });

  it('reports an unterminated string at its opening quote', () => {
    const e = errorOf(() => tokenize('http 80;\n  path "/abc;\n}\n', 'x.conf'));
    expect(e.message).toBe('x.conf:2:8: unterminated string: missing closing "');
    expect([e.file, e.line, e.column]).toEqual(['x.conf', 2, 8]);
    expect(errorOf(() => tokenize("a 'b", 'x.conf')).message).toBe("x.conf:1:3: unterminated string: missing closing '");
  });

  it('does not let an escaped quote close the string', () => {
    expect(errorOf(() => tokenize('a "b\\";', 'x.conf')).message).toBe(
      'x.conf:1:3: unterminated string: missing closing "',
    );
  });

  it('handles CRLF line ends, a byte order mark and tabs', () => {
    expect(brief(tokenize('\uFEFFhttp 1;\r\n\tx "y";\r\n', 'f'))).toEqual([
      ['word', 'http', 1, 1],
      ['word', '1', 1, 6],
      [';', ';', 1, 7],
      ['word', 'x', 2, 2],
      ['string', 'y', 2, 4],
      [';', ';', 2, 7],
    ]);
  });

  it('counts columns in code points, as editors do', () => {
    const tokens = tokenize('"😀é" x;', 'f');
    expect(brief(tokens)).toEqual([
      ['string', '😀é', 1, 1],
      ['word', 'x', 1, 6],
      [';', ';', 1, 7],
    ]);
  });

  it('returns nothing for blank or comment-only text', () => {
    expect(tokenize('', 'f')).toEqual([]);
    expect(tokenize('  \n# only a comment\n\n', 'f')).toEqual([]);
  });
});
