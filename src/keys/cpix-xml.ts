/**
 * A small, tolerant XML reader for key server answers (CPIX, KeyOS SOAP): elements, attributes and text,
 * looked up by local name (prefixes vary between servers). No DTDs, no entities beyond the five
 * predefined ones and character references; CDATA and comments are handled. Throws XmlError on input
 * that is not well-formed enough to trust.
 */

export interface XmlElement {
  /** Local name (prefix removed). */
  readonly name: string;
  /** Attributes by local name (prefix removed; xmlns declarations dropped). */
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  /** The text directly inside the element (concatenated, entities resolved). */
  text: string;
}

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

const MAX_DEPTH = 64;

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const code = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    if (!(code >= 0 && code <= 0x10ffff)) throw new XmlError('bad character reference');
    return String.fromCodePoint(code);
  });
}

const NAME = /^[A-Za-z_][\w.:-]*/;
const ATTR = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/y;

/** Parses a document; returns its root element. */
export function parseXml(text: string): XmlElement {
  let s = text.replace(/^\uFEFF/, '');
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const chunk = lt < 0 ? s.slice(i) : s.slice(i, lt);
    if (chunk.trim() !== '') {
      const top = stack.at(-1);
      if (!top) throw new XmlError('text outside the root element');
      top.text += decodeEntities(chunk);
    } else if (stack.length > 0) {
      stack.at(-1)!.text += chunk;
    }
    if (lt < 0) break;
    i = lt;
    if (s.startsWith('<?', i)) {
      const end = s.indexOf('?>', i);
      if (end < 0) throw new XmlError('unterminated processing instruction');
      i = end + 2;
    } else if (s.startsWith('<!--', i)) {
      const end = s.indexOf('-->', i);
      if (end < 0) throw new XmlError('unterminated comment');
      i = end + 3;
    } else if (s.startsWith('<![CDATA[', i)) {
      const end = s.indexOf(']]>', i);
      if (end < 0) throw new XmlError('unterminated CDATA');
      const top = stack.at(-1);
      if (!top) throw new XmlError('CDATA outside the root element');
      top.text += s.slice(i + 9, end);
      i = end + 3;
    } else if (s.startsWith('<!', i)) {
      throw new XmlError('DOCTYPE and declarations are not accepted');
    } else if (s.startsWith('</', i)) {
      const end = s.indexOf('>', i);
      if (end < 0) throw new XmlError('unterminated end tag');
      const name = s.slice(i + 2, end).trim();
      const top = stack.pop();
      if (!top || top.name !== localName(name)) throw new XmlError(`unexpected end tag </${name}>`);
      i = end + 1;
    } else {
      const m = NAME.exec(s.slice(i + 1, i + 200));
      if (!m) throw new XmlError('bad start tag');
      let at = i + 1 + m[0].length;
      const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
      for (;;) {
        ATTR.lastIndex = at;
        const a = ATTR.exec(s);
        if (!a) break;
        at = ATTR.lastIndex;
        const qn = a[1]!;
        if (qn !== 'xmlns' && !qn.startsWith('xmlns:')) attrs[localName(qn)] = decodeEntities(a[3] ?? a[4] ?? '');
      }
      while (at < s.length && /\s/.test(s[at]!)) at++;
      const selfClosing = s.startsWith('/>', at);
      if (!selfClosing && s[at] !== '>') throw new XmlError(`bad start tag <${m[0]}>`);
      const el: XmlElement = { name: localName(m[0]), attrs, children: [], text: '' };
      const parent = stack.at(-1);
      if (parent) parent.children.push(el);
      else if (root) throw new XmlError('more than one root element');
      else root = el;
      if (!selfClosing) {
        if (stack.length >= MAX_DEPTH) throw new XmlError('elements nested too deep');
        stack.push(el);
      }
      i = at + (selfClosing ? 2 : 1);
    }
  }
  s = '';
  if (stack.length > 0) throw new XmlError(`unclosed element <${stack.at(-1)!.name}>`);
  if (!root) throw new XmlError('no root element');
  return root;
}

/** Every descendant (depth first) with this local name. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    for (const c of e.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}

export function findFirst(el: XmlElement, name: string): XmlElement | undefined {
  return findAll(el, name)[0];
}

/** Escapes text for an element or a double-quoted attribute. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
