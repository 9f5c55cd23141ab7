/**
 * A small reader for the GLib key-file format DeepStream configs use (`[group]`, `key=value`,
 * whole-line `#` comments). It is here to check what we write and to compare with real configs.
 *
 * GLib has no inline comments: `network-type=3 ## comment` hands "3 ## comment" to nvinfer,
 * which only works because GLib's integer parser stops at the space. `inlineComments: true`
 * strips ` #…` for reading such hand-written files; our own output never relies on it.
 */

export interface IniEntry {
  key: string;
  value: string;
  line: number;
}

export interface IniSection {
  name: string;
  line: number;
  entries: IniEntry[];
}

export interface IniDocument {
  sections: IniSection[];
}

export class IniError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'IniError';
  }
}

export function parseIni(text: string, options: { inlineComments?: boolean } = {}): IniDocument {
  const sections: IniSection[] = [];
  let current: IniSection | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) return;
    if (t.startsWith('[')) {
      if (!t.endsWith(']')) throw new IniError(`unclosed group header '${t}'`, line);
      const name = t.slice(1, -1);
      if (sections.some((s) => s.name === name)) throw new IniError(`group [${name}] appears twice`, line);
      current = { name, line, entries: [] };
      sections.push(current);
      return;
    }
    const eq = raw.indexOf('=');
    if (eq < 0) throw new IniError(`expected key=value, found '${t}'`, line);
    if (!current) throw new IniError('key=value before any [group]', line);
    const key = raw.slice(0, eq).trim();
    let value = raw.slice(eq + 1).trim();
    if (options.inlineComments) value = value.replace(/\s+#.*$/, '').trim();
    if (key === '') throw new IniError('empty key', line);
    if (current.entries.some((e) => e.key === key)) throw new IniError(`key '${key}' appears twice in [${current.name}]`, line);
    current.entries.push({ key, value: unescapeValue(value), line });
  });
  return { sections };
}

/** The section's entries as a map (keys are unique per section). */
export function sectionMap(doc: IniDocument, name: string): Map<string, string> | undefined {
  const s = doc.sections.find((x) => x.name === name);
  return s ? new Map(s.entries.map((e) => [e.key, e.value])) : undefined;
}

/** GLib key-file value escapes: \s \n \t \r \\. */
export function escapeValue(v: string): string {
  let out = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
  if (out.startsWith(' ')) out = '\\s' + out.slice(1);
  return out;
}

export function unescapeValue(v: string): string {
  return v.replace(/\\([sntr\\])/g, (_m, c: string) => ({ s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Untrusted text (a tensor, op or file name) inside a `#` comment: one line, no control characters. */
export function escapeComment(text: string): string {
  return text.replace(CONTROL, (c) => (c === '\n' ? '\\n' : c === '\t' ? ' ' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/**
 * The one writer of key-file text: every line a config is built from goes through here, so text
 * a model or spec contributed cannot start a line of its own (a `[group]`, a `key=value` that
 * GLib would read — DeepStream uses g_key_file). Comments are flattened with `escapeComment`;
 * group headers and keys must be plain; values must already be `escapeValue`d (a raw line break
 * left in one is escaped here).
 */
export function serializeIni(lines: readonly string[]): string {
  const out: string[] = [];
  for (const line of lines) {
    if (line === '') out.push('');
    else if (line.startsWith('#')) out.push(escapeComment(line));
    else if (/^\[[A-Za-z0-9_-]+\]$/.test(line)) out.push(line);
    else {
      const eq = line.indexOf('=');
      const key = eq < 0 ? '' : line.slice(0, eq);
      if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new Error(`serializeIni: not a key=value line: ${JSON.stringify(line.slice(0, 80))}`);
      out.push(key + '=' + line.slice(eq + 1).replace(/[\r\n]/g, (c) => escapeValue(c)));
    }
  }
  return out.join('\n');
}
