import { ConfigError } from './errors.js';
import type { SourcePos } from './model.js';

/**
 * `word`: bare text. `string`: text with at least one quoted part (`"a b"`, `key="a b"`); being quoted,
 * it is never taken for a directive name, a brace or a semicolon.
 */
export type TokenKind = 'word' | 'string' | '{' | '}' | ';';

export interface Token extends SourcePos {
  kind: TokenKind;
  /** The text with quotes removed and escapes resolved. */
  value: string;
  /** Column just past the token, on the same line (a token never spans lines). */
  endColumn: number;
}

const PUNCTUATION = new Set(['{', '}', ';']);
const QUOTES = new Set(['"', "'"]);

function isSpace(c: string): boolean {
  return /\s/u.test(c);
}

function endsWord(c: string): boolean {
  return isSpace(c) || PUNCTUATION.has(c) || c === '#';
}

/**
 * Splits config text into tokens. `#` outside quotes starts a comment to the end of the line. A quoted
 * part (`"..."` or `'...'`) takes a backslash before its own quote or before a backslash as an escape
 * and keeps any other backslash literally (Windows paths).
 */
export function tokenize(text: string, file: string): Token[] {
  return new Scanner(text, file).run();
}

class Scanner {
  // Code points, not UTF-16 units, so columns match what editors show for non-BMP characters.
  private readonly chars: string[];
  private i = 0;
  private line = 1;
  private column = 1;
  private readonly tokens: Token[] = [];

  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.chars = Array.from(text);
    if (this.chars[0] === '\uFEFF') this.i = 1;
  }

  run(): Token[] {
    for (let c = this.peek(); c !== undefined; c = this.peek()) {
      if (c === '\n') this.newline();
      else if (isSpace(c)) this.advance();
      else if (c === '#') this.skipComment();
      else if (PUNCTUATION.has(c)) this.punctuation(c);
      else this.word();
    }
    return this.tokens;
  }

  private peek(offset = 0): string | undefined {
    return this.chars[this.i + offset];
  }

  private advance(): void {
    this.i++;
    this.column++;
  }

  private newline(): void {
    this.i++;
    this.line++;
    this.column = 1;
  }

  private here(): SourcePos {
    return { file: this.file, line: this.line, column: this.column };
  }

  private skipComment(): void {
    while (this.peek() !== undefined && this.peek() !== '\n') this.advance();
  }

  private punctuation(c: string): void {
    const start = this.here();
    this.advance();
    this.tokens.push({ ...start, kind: c as TokenKind, value: c, endColumn: this.column });
  }

  private word(): void {
    const start = this.here();
    let value = '';
    let quoted = false;
    for (let c = this.peek(); c !== undefined && !endsWord(c); c = this.peek()) {
      if (QUOTES.has(c)) {
        value += this.quoted(c);
        quoted = true;
      } else {
        value += c;
        this.advance();
      }
    }
    this.tokens.push({ ...start, kind: quoted ? 'string' : 'word', value, endColumn: this.column });
  }

  private quoted(quote: string): string {
    const open = this.here();
    this.advance();
    let value = '';
    for (;;) {
      const c = this.peek();
      // Strings may not span lines: a forgotten quote then fails here, not pages later.
      if (c === undefined || c === '\n') throw new ConfigError(open, `unterminated string: missing closing ${quote}`);
      this.advance();
      if (c === quote) return value;
      const next = this.peek();
      if (c === '\\' && next !== undefined && (next === quote || next === '\\')) {
        value += next;
        this.advance();
      } else {
        value += c;
      }
    }
  }
}
