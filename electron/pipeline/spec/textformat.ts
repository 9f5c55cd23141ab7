import { StudioError } from '../../../shared/errors.js';
import { SourceText } from './source.js';

/**
 * Protocol-buffer text format (what TAO experiment specs are written in): tokenizer and parser
 * producing a schema-free AST. Every node carries its 1-based line/column and offset, so the
 * schema layer can point at the exact field or value that is wrong.
 *
 * Accepted, as protobuf's own parsers do (C++ `TextFormat`, Python `text_format`):
 * `#` comments; `name { … }`, `name: { … }`, `name < … >`; scalar fields `name: value`;
 * repeated fields by repetition or `name: [a, b]`; optional `;` or `,` after a field;
 * strings in `"` or `'` with C escapes, adjacent strings concatenated; numbers `3`, `-3`, `0x1F`,
 * `017` (octal), `0.`, `.5`, `1e-4`, `1.5f`; identifiers (enum names, `true`, `inf`, `nan`, …).
 * Extension (`[pkg.ext]`) and Any (`[type.googleapis.com/…]`) field names are not supported.
 */

export interface Located {
  line: number;
  column: number;
  offset: number;
}

export interface StringNode extends Located {
  kind: 'string';
  /** The decoded value (escapes resolved, adjacent literals joined). */
  value: string;
  /** Source offset of each UTF-16 unit of `value`, for positions inside the string. */
  charOffsets: number[];
  /** Offset just past the last closing quote. */
  endOffset: number;
}

export interface NumberNode extends Located {
  kind: 'number';
  /** The token without its sign, as written (`0.`, `0x1F`, `1e-4`, `2.5f`). */
  text: string;
  negative: boolean;
}

export interface IdentifierNode extends Located {
  kind: 'identifier';
  /** As written: an enum name, `True`, `inf`, … */
  text: string;
  /** A `-` was written before it (meaningful only for `-inf`). */
  negative: boolean;
}

export type ScalarNode = StringNode | NumberNode | IdentifierNode;

export interface MessageNode extends Located {
  kind: 'message';
  fields: FieldNode[];
  /** Where the closing `}`/`>` is. */
  end: Located;
}

export interface ListNode extends Located {
  kind: 'list';
  items: (ScalarNode | MessageNode)[];
}

export type ValueNode = ScalarNode | MessageNode | ListNode;

export interface FieldNode extends Located {
  name: string;
  /** Whether `:` followed the name (scalars need it; messages may omit it). */
  hasColon: boolean;
  value: ValueNode;
}

export interface TextDocument {
  source: SourceText;
  fields: FieldNode[];
}

/** protobuf's default recursion limit; also keeps hostile input from overflowing our stack. */
export const MAX_NESTING = 100;

type TokenKind = 'ident' | 'number' | 'string' | 'symbol' | 'eof';

interface Token {
  kind: TokenKind;
  /** Raw text; for strings the decoded value. */
  text: string;
  offset: number;
  end: number;
  /** Strings only. */
  charOffsets?: number[];
}

const SYMBOLS = new Set(['{', '}', '<', '>', '[', ']', ':', ',', ';', '-', '/']);

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isHex(c: string): boolean {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

export function syntaxError(src: SourceText, offset: number, message: string, hint?: string): StudioError {
  const { line, column } = src.positionAt(offset);
  return new StudioError(
    'E_SPEC_SYNTAX',
    message,
    hint ?? 'Fix the protobuf text-format syntax at the marked position; compare with a working spec such as TAO\'s default.txt.',
    { file: src.file, line, column, excerpt: src.excerpt(line, column) },
  );
}

class Lexer {
  private pos = 0;
  private readonly text: string;

  constructor(private readonly src: SourceText) {
    this.text = src.text;
  }

  next(): Token {
    this.skipSpaceAndComments();
    const start = this.pos;
    const text = this.text;
    if (start >= text.length) return { kind: 'eof', text: '', offset: start, end: start };
    const c = text[start] as string;
    if (isIdentStart(c)) {
      let i = start + 1;
      while (i < text.length && isIdentPart(text[i] as string)) i++;
      this.pos = i;
      return { kind: 'ident', text: text.slice(start, i), offset: start, end: i };
    }
    if (isDigit(c) || (c === '.' && isDigit(text[start + 1] ?? ''))) return this.number(start);
    if (c === '"' || c === "'") return this.string(start);
    if (SYMBOLS.has(c)) {
      this.pos = start + 1;
      return { kind: 'symbol', text: c, offset: start, end: start + 1 };
    }
    const shown = c.trim() === '' ? `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : `'${c}'`;
    throw syntaxError(this.src, start, `Unexpected character ${shown}`);
  }

  private skipSpaceAndComments(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text[this.pos] as string;
      if (c === '#') {
        while (this.pos < text.length && text[this.pos] !== '\n' && text[this.pos] !== '\r') this.pos++;
      } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
        this.pos++;
      } else {
        return;
      }
    }
  }

  private number(start: number): Token {
    const text = this.text;
    let i = start;
    if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
      i += 2;
      const digits = i;
      while (i < text.length && isHex(text[i] as string)) i++;
      if (i === digits) throw syntaxError(this.src, start, `Invalid hexadecimal number '${text.slice(start, i)}'`);
    } else {
      while (i < text.length && isDigit(text[i] as string)) i++;
      if (text[i] === '.') {
        i++;
        while (i < text.length && isDigit(text[i] as string)) i++;
      }
      if (text[i] === 'e' || text[i] === 'E') {
        let j = i + 1;
        if (text[j] === '+' || text[j] === '-') j++;
        if (!isDigit(text[j] ?? '')) throw syntaxError(this.src, start, `Invalid number '${text.slice(start, j)}': the exponent has no digits`);
        while (j < text.length && isDigit(text[j] as string)) j++;
        i = j;
      }
      if (text[i] === 'f' || text[i] === 'F') i++;
    }
    if (i < text.length && (isIdentPart(text[i] as string) || text[i] === '.')) {
      let j = i;
      while (j < text.length && (isIdentPart(text[j] as string) || text[j] === '.')) j++;
      throw syntaxError(this.src, start, `Invalid number '${text.slice(start, j)}'`);
    }
    this.pos = i;
    return { kind: 'number', text: text.slice(start, i), offset: start, end: i };
  }

  /** One or more adjacent string literals, decoded and joined. */
  private string(start: number): Token {
    let value = '';
    const charOffsets: number[] = [];
    let end: number;
    for (;;) {
      const piece = this.oneString(this.pos);
      value += piece.value;
      for (const o of piece.charOffsets) charOffsets.push(o);
      end = piece.end;
      this.pos = piece.end;
      const save = this.pos;
      this.skipSpaceAndComments();
      const c = this.text[this.pos];
      if (c !== '"' && c !== "'") {
        this.pos = save;
        break;
      }
    }
    return { kind: 'string', text: value, offset: start, end, charOffsets };
  }

  private oneString(start: number): { value: string; charOffsets: number[]; end: number } {
    const text = this.text;
    const quote = text[start] as string;
    let i = start + 1;
    let value = '';
    const charOffsets: number[] = [];
    // Bytes from \x / octal escapes are UTF-8 (protobuf strings are bytes); collect and decode them.
    let bytes: number[] = [];
    let bytesAt = 0;
    const flush = (): void => {
      if (bytes.length === 0) return;
      let decoded: string;
      try {
        decoded = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
      } catch {
        throw syntaxError(this.src, bytesAt, 'String escapes do not form valid UTF-8', 'Protobuf string fields must hold UTF-8 text; check the \\x or octal escapes.');
      }
      value += decoded;
      for (let k = 0; k < decoded.length; k++) charOffsets.push(bytesAt);
      bytes = [];
    };
    const push = (s: string, at: number): void => {
      flush();
      value += s;
      for (let k = 0; k < s.length; k++) charOffsets.push(at);
    };
    for (;;) {
      if (i >= text.length || text[i] === '\n' || text[i] === '\r') {
        throw syntaxError(this.src, start, 'Unterminated string', `Close the string with ${quote} on the same line; a string cannot span lines (write two adjacent strings to continue it).`);
      }
      const c = text[i] as string;
      if (c === quote) {
        flush();
        return { value, charOffsets, end: i + 1 };
      }
      if (c !== '\\') {
        push(c, i);
        i++;
        continue;
      }
      const at = i;
      const e = text[i + 1] ?? '';
      switch (e) {
        case 'n': push('\n', at); i += 2; break;
        case 't': push('\t', at); i += 2; break;
        case 'r': push('\r', at); i += 2; break;
        case 'a': push('\x07', at); i += 2; break;
        case 'b': push('\b', at); i += 2; break;
        case 'f': push('\f', at); i += 2; break;
        case 'v': push('\v', at); i += 2; break;
        case '\\': push('\\', at); i += 2; break;
        case '"': push('"', at); i += 2; break;
        case "'": push("'", at); i += 2; break;
        case '?': push('?', at); i += 2; break;
        case 'x':
        case 'X': {
          let j = i + 2;
          while (j < i + 4 && isHex(text[j] ?? '')) j++;
          if (j === i + 2) throw syntaxError(this.src, at, 'Invalid \\x escape: expected hexadecimal digits');
          this.pushByte(parseInt(text.slice(i + 2, j), 16), at, push, (b) => {
            if (bytes.length === 0) bytesAt = at;
            bytes.push(b);
          });
          i = j;
          break;
        }
        case 'u':
        case 'U': {
          const n = e === 'u' ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + n);
          if (hex.length !== n || ![...hex].every(isHex)) throw syntaxError(this.src, at, `Invalid \\${e} escape: expected ${n} hexadecimal digits`);
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw syntaxError(this.src, at, `Invalid \\${e} escape: U+${hex} is not a Unicode scalar value`);
          push(String.fromCodePoint(cp), at);
          i += 2 + n;
          break;
        }
        default: {
          if (e >= '0' && e <= '7') {
            let j = i + 1;
            while (j < i + 4 && (text[j] ?? '') >= '0' && (text[j] ?? '') <= '7') j++;
            const v = parseInt(text.slice(i + 1, j), 8);
            if (v > 255) throw syntaxError(this.src, at, 'Invalid octal escape: value above \\377');
            this.pushByte(v, at, push, (b) => {
              if (bytes.length === 0) bytesAt = at;
              bytes.push(b);
            });
            i = j;
            break;
          }
          if (i + 1 >= text.length || e === '\n' || e === '\r') {
            throw syntaxError(this.src, start, 'Unterminated string', `Close the string with ${quote} on the same line.`);
          }
          throw syntaxError(this.src, at, `Invalid escape sequence '\\${e}'`, 'Valid escapes: \\n \\t \\r \\\\ \\" \\\' \\xHH \\NNN (octal) \\uHHHH.');
        }
      }
    }
  }

  private pushByte(b: number, at: number, push: (s: string, at: number) => void, pushRaw: (b: number) => void): void {
    if (b < 0x80) push(String.fromCharCode(b), at);
    else pushRaw(b);
  }
}

class Parser {
  private tok: Token;
  private readonly lexer: Lexer;

  constructor(private readonly src: SourceText) {
    this.lexer = new Lexer(src);
    this.tok = this.lexer.next();
  }

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  private loc(offset: number): Located {
    const { line, column } = this.src.positionAt(offset);
    return { line, column, offset };
  }

  private describe(t: Token): string {
    switch (t.kind) {
      case 'eof':
        return 'end of file';
      case 'string':
        return 'a string';
      case 'number':
        return `number '${t.text}'`;
      case 'ident':
        return `'${t.text}'`;
      default:
        return `'${t.text}'`;
    }
  }

  private isSymbol(s: string): boolean {
    return this.tok.kind === 'symbol' && this.tok.text === s;
  }

  parseDocument(): TextDocument {
    const fields = this.parseFields(null, 0);
    return { source: this.src, fields };
  }

  /** Fields until `close` (or end of file at the top level). */
  private parseFields(close: { symbol: string; open: Token } | null, depth: number): FieldNode[] {
    const fields: FieldNode[] = [];
    for (;;) {
      if (close === null && this.tok.kind === 'eof') return fields;
      if (close !== null && this.isSymbol(close.symbol)) return fields;
      if (close !== null && this.tok.kind === 'eof') {
        throw syntaxError(this.src, close.open.offset, `Unclosed '${close.open.text}': expected '${close.symbol}' before the end of file`, `Add the missing '${close.symbol}' to close the block opened here.`);
      }
      fields.push(this.parseField(depth));
      if (this.isSymbol(';') || this.isSymbol(',')) this.advance();
    }
  }

  private parseField(depth: number): FieldNode {
    const t = this.tok;
    if (t.kind === 'symbol' && t.text === '[') {
      throw syntaxError(this.src, t.offset, 'Extension and Any field names ([…]) are not supported in an experiment spec');
    }
    if (t.kind !== 'ident') {
      const closing = t.kind === 'symbol' && (t.text === '}' || t.text === '>');
      throw syntaxError(
        this.src,
        t.offset,
        closing ? `Unexpected '${t.text}': no block is open here` : `Expected a field name, found ${this.describe(t)}`,
        closing ? 'Remove the extra closing bracket or add the missing opening block.' : undefined,
      );
    }
    this.advance();
    const at = this.loc(t.offset);
    let hasColon = false;
    if (this.isSymbol(':')) {
      hasColon = true;
      this.advance();
    }
    let value: ValueNode;
    if (this.isSymbol('{') || this.isSymbol('<')) {
      value = this.parseMessage(depth + 1);
    } else if (this.isSymbol('[')) {
      value = this.parseList(depth + 1, hasColon, t.text);
    } else if (!hasColon) {
      throw syntaxError(this.src, this.tok.offset, `Expected ':' or '{' after field name '${t.text}', found ${this.describe(this.tok)}`, `Write '${t.text}: value' for a scalar or '${t.text} { … }' for a message.`);
    } else {
      value = this.parseScalar();
    }
    return { line: at.line, column: at.column, offset: at.offset, name: t.text, hasColon, value };
  }

  private parseMessage(depth: number): MessageNode {
    const open = this.advance();
    if (depth > MAX_NESTING) throw syntaxError(this.src, open.offset, `Messages nested more than ${MAX_NESTING} deep`);
    const close = open.text === '{' ? '}' : '>';
    const fields = this.parseFields({ symbol: close, open }, depth);
    const end = this.advance();
    const at = this.loc(open.offset);
    return { kind: 'message', line: at.line, column: at.column, offset: at.offset, fields, end: this.loc(end.offset) };
  }

  private parseList(depth: number, hasColon: boolean, name: string): ListNode {
    const open = this.advance();
    if (depth > MAX_NESTING) throw syntaxError(this.src, open.offset, `Lists nested more than ${MAX_NESTING} deep`);
    const items: (ScalarNode | MessageNode)[] = [];
    if (this.isSymbol(']')) {
      this.advance();
      return this.list(open.offset, items);
    }
    for (;;) {
      if (this.isSymbol('{') || this.isSymbol('<')) {
        items.push(this.parseMessage(depth + 1));
      } else {
        if (!hasColon) throw syntaxError(this.src, this.tok.offset, `Expected ':' after field name '${name}' before a list of values`);
        items.push(this.parseScalar());
      }
      if (this.isSymbol(',')) {
        this.advance();
        continue;
      }
      if (this.isSymbol(']')) {
        this.advance();
        return this.list(open.offset, items);
      }
      if (this.tok.kind === 'eof') throw syntaxError(this.src, open.offset, `Unclosed '[': expected ']' before the end of file`);
      throw syntaxError(this.src, this.tok.offset, `Expected ',' or ']' in the list, found ${this.describe(this.tok)}`);
    }
  }

  private list(offset: number, items: (ScalarNode | MessageNode)[]): ListNode {
    const at = this.loc(offset);
    return { kind: 'list', line: at.line, column: at.column, offset: at.offset, items };
  }

  private parseScalar(): ScalarNode {
    const t = this.tok;
    if (t.kind === 'string') {
      this.advance();
      const at = this.loc(t.offset);
      return { kind: 'string', line: at.line, column: at.column, offset: at.offset, value: t.text, charOffsets: t.charOffsets ?? [], endOffset: t.end };
    }
    let negative = false;
    if (t.kind === 'symbol' && t.text === '-') {
      this.advance();
      const n = this.tok;
      if ((n.kind !== 'number' && n.kind !== 'ident') || n.offset !== t.end) {
        throw syntaxError(this.src, t.offset, "Expected a number right after '-'");
      }
      negative = true;
    }
    const v = this.tok;
    if (v.kind === 'number' || v.kind === 'ident') {
      this.advance();
      const at = this.loc(negative ? t.offset : v.offset);
      return { kind: v.kind === 'number' ? 'number' : 'identifier', line: at.line, column: at.column, offset: at.offset, text: v.text, negative };
    }
    throw syntaxError(this.src, v.offset, `Expected a value, found ${this.describe(v)}`);
  }
}

/** Parse protobuf text format. Throws StudioError E_SPEC_SYNTAX with file, line, column, excerpt. */
export function parseTextFormat(text: string, file: string): TextDocument {
  const src = new SourceText(text.charCodeAt(0) === 0xfeff ? ' ' + text.slice(1) : text, file);
  return new Parser(src).parseDocument();
}
