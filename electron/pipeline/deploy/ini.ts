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
