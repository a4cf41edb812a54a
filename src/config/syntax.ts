import { ConfigError } from './errors.js';
import type { SourcePos } from './model.js';
import type { Token } from './tokenizer.js';

/** `name arg arg ... ;` or `name arg ... { directive ... }`, before any meaning is given to it. */
export interface Directive {
  name: Token;
  args: Token[];
  /** The token that ended the arguments: `;` or `{`. */
  end: Token;
  /** Present when the directive opened a block. */
  block?: Directive[];
}

/**
 * What the structure parser needs to know of the grammar to point at the real mistake rather than at
 * the place where it finally becomes visible.
 */
export interface SyntaxRules {
  /**
   * Every directive name, in any context. An unquoted one starting a new line inside a directive's
   * arguments almost surely means the previous line lacks its `;`.
   */
  directiveNames: ReadonlySet<string>;
  /** Block directives allowed only at top level: met inside a block, the block above lacks its `}`. */
  topLevelBlocks: ReadonlySet<string>;
}

/** Groups tokens into directives and blocks; meaning and values are checked elsewhere. */
export function parseDirectives(tokens: Token[], rules: SyntaxRules): Directive[] {
  return new DirectiveParser(tokens, rules).run();
}

/** The position just past a token: where a missing `;` or `}` belongs. */
function after(token: Token): SourcePos {
  return { file: token.file, line: token.line, column: token.endColumn };
}

function label(d: Pick<Directive, 'name' | 'args'>): string {
  return [d.name, ...d.args].map((t) => t.value).join(' ');
}

interface OpenBlock {
  label: string;
  open: Token;
}

class DirectiveParser {
  private i = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly rules: SyntaxRules,
  ) {}

  run(): Directive[] {
    return this.body(undefined);
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private body(parent: OpenBlock | undefined): Directive[] {
    const directives: Directive[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined) {
        if (parent === undefined) return directives;
        throw this.unclosed(parent);
      }
      if (t.kind === '}') {
        if (parent === undefined) throw new ConfigError(t, "unexpected '}': no block is open");
        this.i++;
        return directives;
      }
      this.expectDirectiveStart(t, parent);
      directives.push(this.directive(t));
    }
  }

  private expectDirectiveStart(t: Token, parent: OpenBlock | undefined): void {
    if (t.kind === ';') throw new ConfigError(t, "unexpected ';': no directive before it");
    if (t.kind === '{') throw new ConfigError(t, "unexpected '{': a block must follow a directive, as in 'file NAME {'");
    if (t.kind === 'string') throw new ConfigError(t, 'expected a directive name, found a quoted string');
    if (parent !== undefined && this.rules.topLevelBlocks.has(t.value)) {
      const at = `${parent.open.line}:${parent.open.column}`;
      throw new ConfigError(t, `missing '}' before '${t.value}': '${parent.label}' opened at ${at} is not closed`);
    }
  }

  private directive(name: Token): Directive {
    this.i++;
    const args: Token[] = [];
    let last = name;
    for (;;) {
      const t = this.peek();
      if (t === undefined || t.kind === '}' || this.startsDirective(t, last)) {
        throw new ConfigError(after(last), `missing ';' after '${last.value}'`);
      }
      this.i++;
      if (t.kind === ';') return { name, args, end: t };
      if (t.kind === '{') {
        const block = this.body({ label: label({ name, args }), open: t });
        return { name, args, end: t, block };
      }
      args.push(t);
      last = t;
    }
  }

  private startsDirective(t: Token, previous: Token): boolean {
    return t.kind === 'word' && t.line > previous.line && this.rules.directiveNames.has(t.value);
  }

  private unclosed(parent: OpenBlock): ConfigError {
    const last = this.tokens[this.tokens.length - 1] ?? parent.open;
    const at = `${parent.open.line}:${parent.open.column}`;
    return new ConfigError(after(last), `missing '}': '${parent.label}' opened at ${at} is not closed`);
  }
}
