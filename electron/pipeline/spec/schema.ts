import { StudioError } from '../../../shared/errors.js';
import type { SourceText } from './source.js';
import type { FieldNode, Located, ScalarNode, TextDocument, ValueNode } from './textformat.js';

/**
 * A tiny description of proto3 messages (the subset TAO specs use) and the validator that turns
 * a text-format AST into typed values. Unset fields take their proto3 zero value (0, "", false,
 * first enum value, an all-zero sub-message, []), exactly as TAO's Python sees them; which fields
 * were written is recorded separately, with where.
 */

export type ScalarKind = 'string' | 'bool' | 'float' | 'double' | 'int32' | 'uint32' | 'enum';

export interface ScalarFieldSchema {
  readonly kind: ScalarKind;
  /** The proto field number (documentation; text format does not use it). */
  readonly number: number;
  readonly repeated?: boolean;
  /** Enum value names in number order (kind 'enum'). */
  readonly values?: readonly string[];
  /** Mask the value when shown (API keys). */
  readonly secret?: boolean;
}

export interface MessageFieldSchema {
  readonly kind: 'message';
  readonly number: number;
  readonly repeated?: boolean;
  readonly message: MessageSchema;
}

export type FieldSchema = ScalarFieldSchema | MessageFieldSchema;

export interface MessageSchema {
  /** The proto message name, e.g. "DataConfig". */
  readonly name: string;
  readonly fields: Readonly<Record<string, FieldSchema>>;
}

type ScalarTS<K> = K extends 'string' | 'enum' ? string : K extends 'bool' ? boolean : number;
type Many<F, T> = F extends { repeated: true } ? T[] : T;
type FieldTS<F> = F extends { kind: 'message'; message: infer M } ? Many<F, MessageTS<M>> : F extends { kind: infer K } ? Many<F, ScalarTS<K>> : never;
/** The TypeScript type of a message described `as const` (proto field names kept). */
export type MessageTS<M> = M extends { fields: infer FS } ? { -readonly [K in keyof FS]: FieldTS<FS[K]> } : never;

/** Where a field was written: dotted proto path (`data_config.image_size`) → position. */
export type SetFields = Record<string, { line: number; column: number }>;

export interface Warning {
  message: string;
  line: number;
  column: number;
}

const INT_RANGE: Record<'int32' | 'uint32', [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

/** Zero value of a field (proto3). */
export function zeroValue(f: FieldSchema): unknown {
  if (f.repeated) return [];
  switch (f.kind) {
    case 'message':
      return zeroMessage(f.message);
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'enum':
      return f.values?.[0] ?? '';
    default:
      return 0;
  }
}

export function zeroMessage<M extends MessageSchema>(m: M): MessageTS<M> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(m.fields)) out[name] = zeroValue(f);
  return out as MessageTS<M>;
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** The closest name within a distance that still reads as a typo, if any. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  return bestD <= limit ? best : undefined;
}

/** Every message in a schema tree, with its dotted path ("" for the root). */
function messagesIn(root: MessageSchema, path = '', out: { path: string; schema: MessageSchema }[] = []): { path: string; schema: MessageSchema }[] {
  out.push({ path, schema: root });
  for (const [name, f] of Object.entries(root.fields)) {
    if (f.kind === 'message') messagesIn(f.message, path ? `${path}.${name}` : name, out);
  }
  return out;
}

export class SpecValidator<M extends MessageSchema = MessageSchema> {
  readonly set: SetFields = {};
  readonly warnings: Warning[] = [];

  constructor(
    private readonly src: SourceText,
    private readonly root: M,
  ) {}

  error(code: 'E_SPEC_TYPE' | 'E_SPEC_VALUE' | 'E_SPEC_UNKNOWN_FIELD' | 'E_SPEC_REQUIRED' | 'E_SPEC_SYNTAX', at: Located | { line: number; column: number }, message: string, hint: string): StudioError {
    const { line, column } = at;
    return new StudioError(code, message, hint, {
      file: this.src.file,
      line,
      column,
      excerpt: this.src.excerpt(line, column),
    });
  }

  validate(doc: TextDocument): MessageTS<M> {
    return this.message(this.root, doc.fields, '') as MessageTS<M>;
  }

  private message(schema: MessageSchema, fields: FieldNode[], path: string): Record<string, unknown> {
    const out = zeroMessage(schema) as Record<string, unknown>;
    const seen = new Map<string, FieldNode>();
    for (const node of fields) {
      const f = schema.fields[node.name];
      const fullPath = path ? `${path}.${node.name}` : node.name;
      if (f === undefined) throw this.unknownField(schema, node, path);
      const first = seen.get(node.name);
      if (first !== undefined && !f.repeated) {
        const err = this.error(
          'E_SPEC_VALUE',
          node,
          `Field '${fullPath}' is given twice (first at line ${first.line}); it is not a repeated field`,
          'Keep one of the two. TAO would silently use the last one; we stop so that the value you meant is the one used.',
        );
        if (f.kind !== 'message' && f.secret) err.location.excerpt = this.maskedExcerpt(node);
        throw err;
      }
      seen.set(node.name, node);
      if (first === undefined) this.set[fullPath] = { line: node.line, column: node.column };
      const value = f.kind !== 'message' && f.secret ? this.secretValue(f, node, fullPath) : this.fieldValue(f, node, fullPath);
      if (f.repeated) (out[node.name] as unknown[]).push(...(value as unknown[]));
      else out[node.name] = value;
    }
    return out;
  }

  /** Secrets (wandb_config.key) never appear in messages or excerpts, even when mistyped. */
  private secretValue(f: ScalarFieldSchema, node: FieldNode, path: string): unknown {
    try {
      return this.fieldValue(f, node, path);
    } catch (e) {
      if (!(e instanceof StudioError)) throw e;
      return this.rethrowMasked(e, path, this.maskedExcerpt(node), node);
    }
  }

  private maskedExcerpt(node: FieldNode): string {
    const indent = this.src.lineText(node.line).slice(0, node.column - 1);
    const shown = `${node.line} | ${indent}${node.name}: ***`;
    const caret = `${' '.repeat(String(node.line).length)} | ${indent.replace(/[^\t]/g, ' ')}^`;
    return `${shown}\n${caret}`;
  }

  private rethrowMasked(e: StudioError, path: string, excerpt: string, node: FieldNode): never {
    throw new StudioError(e.code, `Field '${path}' has a value of the wrong type (not shown: it is a secret)`, `Write it as ${node.name}: "…" (a quoted string).`, {
      file: this.src.file,
      line: node.line,
      column: node.column,
      excerpt,
    });
  }

  private unknownField(schema: MessageSchema, node: FieldNode, path: string): StudioError {
    const where = path ? `in ${path} (${schema.name})` : `at the top level (${schema.name})`;
    const names = Object.keys(schema.fields);
    const guess = closest(node.name, names);
    // A known field placed in the wrong block is a common slip: say where it belongs.
    const elsewhere = messagesIn(this.root)
      .filter((m) => m.path !== path && Object.prototype.hasOwnProperty.call(m.schema.fields, node.name))
      .map((m) => (m.path === '' ? 'the top level' : m.path));
    let hint: string;
    if (elsewhere.length > 0) hint = `'${node.name}' belongs ${elsewhere[0] === 'the top level' ? 'at' : 'in'} ${elsewhere.join(' or ')}; move it there.`;
    else if (guess !== undefined) hint = `Did you mean '${guess}'?`;
    else hint = `Known fields ${where}: ${names.join(', ')}.`;
    const dym = guess !== undefined && elsewhere.length === 0 ? `; did you mean '${guess}'?` : '';
    return this.error('E_SPEC_UNKNOWN_FIELD', node, `Unknown field '${node.name}' ${where}${dym}`, hint);
  }

  private fieldValue(f: FieldSchema, node: FieldNode, path: string): unknown {
    const v = node.value;
    if (v.kind === 'list') {
      if (!f.repeated) {
        throw this.error('E_SPEC_TYPE', v, `Field '${path}' is not repeated but is given a list`, f.kind === 'string' ? `Give one value; TAO's tuple fields are written as a string, e.g. ${path.split('.').pop()}: "[…]".` : 'Give a single value.');
      }
      return v.items.map((item) => this.single(f, item, path));
    }
    const one = this.single(f, v, path);
    return f.repeated ? [one] : one;
  }

  private single(f: FieldSchema, v: ValueNode, path: string): unknown {
    if (f.kind === 'message') {
      if (v.kind !== 'message') {
        throw this.error('E_SPEC_TYPE', v, `Field '${path}' is a message (${f.message.name}) but is given a ${describeValue(v)}`, `Write it as a block: ${path.split('.').pop()} { … }.`);
      }
      return this.message(f.message, v.fields, path);
    }
    if (v.kind === 'message' || v.kind === 'list') {
      throw this.error('E_SPEC_TYPE', v, `Field '${path}' is a ${f.kind} but is given a ${describeValue(v)}`, `Write it as ${path.split('.').pop()}: <${f.kind}>.`);
    }
    return this.scalar(f, v, path);
  }

  private scalar(f: ScalarFieldSchema, v: ScalarNode, path: string): unknown {
    const name = path.slice(path.lastIndexOf('.') + 1);
    const typeError = (expected: string, example: string): StudioError =>
      this.error('E_SPEC_TYPE', v, `Field '${path}' expects ${expected}, found ${describeValue(v)}`, `Write for example ${name}: ${example}.`);
    switch (f.kind) {
      case 'string':
        if (v.kind !== 'string') throw typeError('a string', '"…" (in quotes)');
        return v.value;
      case 'bool': {
        const t = v.kind === 'string' ? null : (v.negative ? '-' : '') + v.text;
        if (t === 'true' || t === 'True' || t === 't' || t === '1') return true;
        if (t === 'false' || t === 'False' || t === 'f' || t === '0') return false;
        throw typeError('a bool (true/false, True/False, t/f, 1/0)', 'true');
      }
      case 'float':
      case 'double': {
        if (v.kind === 'identifier') {
          const t = v.text.toLowerCase();
          if (/^inf(inity)?f?$/.test(t)) return v.negative ? -Infinity : Infinity;
          if (/^nanf?$/.test(t)) return NaN;
          throw typeError('a number', '0.5');
        }
        if (v.kind !== 'number') throw typeError('a number', '0.5');
        const n = numberValue(v.text);
        if (n === undefined) throw typeError('a number', '0.5');
        return v.negative ? -n : n;
      }
      case 'int32':
      case 'uint32': {
        if (v.kind !== 'number') throw typeError(`an integer (${f.kind})`, '100');
        const n = integerValue(v.text);
        if (n === undefined) {
          throw this.error('E_SPEC_TYPE', v, `Field '${path}' is an integer (${f.kind}) but is given '${v.negative ? '-' : ''}${v.text}'`, `Write a whole number without a decimal point or exponent, e.g. ${name}: ${Math.round(numberValue(v.text) ?? 0)}.`);
        }
        const value = v.negative ? -n : n;
        const [lo, hi] = INT_RANGE[f.kind];
        if (value < lo || value > hi) {
          const msg = f.kind === 'uint32' && value < 0 ? `Field '${path}' is unsigned (uint32) but is given a negative value ${value}` : `Field '${path}' value ${value} is outside the ${f.kind} range [${lo}, ${hi}]`;
          throw this.error('E_SPEC_TYPE', v, msg, `Use a value between ${lo} and ${hi}.`);
        }
        return value;
      }
      case 'enum': {
        const values = f.values ?? [];
        if (v.kind === 'identifier' && !v.negative) {
          if (values.includes(v.text)) return v.text;
          const guess = closest(v.text, values);
          throw this.error('E_SPEC_VALUE', v, `'${v.text}' is not a value of '${path}'${guess ? `; did you mean '${guess}'?` : ''}`, `Use one of ${values.join(', ')}.`);
        }
        if (v.kind === 'number') {
          const n = integerValue(v.text);
          const idx = n === undefined ? -1 : v.negative ? -n : n;
          const name = values[idx];
          if (name !== undefined) return name;
        }
        throw typeError(`one of ${values.join(', ')}`, values[0] ?? 'VALUE');
      }
    }
  }
}

function describeValue(v: ValueNode): string {
  switch (v.kind) {
    case 'string':
      return `string "${v.value.length > 40 ? v.value.slice(0, 40) + '…' : v.value}"`;
    case 'number':
      return `number ${v.negative ? '-' : ''}${v.text}`;
    case 'identifier':
      return `'${v.negative ? '-' : ''}${v.text}'`;
    case 'message':
      return 'message block { … }';
    case 'list':
      return 'list [ … ]';
  }
}

/**
 * A text-format number token as a double. A leading zero is decimal here (`017` = 17, as
 * Python's text_format reads float fields); hex is accepted as protobuf's C++ parser does.
 */
export function numberValue(text: string): number | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return Number(text);
  const t = text.replace(/[fF]$/, '');
  if (!/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t.endsWith('.') ? t + '0' : t);
}

/** A text-format integer token: decimal, 0x hex, or C-style octal with a leading 0. */
export function integerValue(text: string): number | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return Number(text);
  if (/^0[0-7]+$/.test(text)) return parseInt(text.slice(1), 8);
  if (/^(0|[1-9]\d*)$/.test(text)) return Number(text);
  return undefined;
}

