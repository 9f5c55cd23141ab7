import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { StudioError, isStudioError } from '../../../shared/errors.js';
import { ExportRequestSchema, type ExportRequest } from '../../../shared/request.js';
import { plannedWrites } from '../../host/job-manager.js';
import { flagsToRequest, type ExportFlags, type FlagNotice } from '../export-args.js';
import { EXPORT_FLAGS, flagOption, type ExportFlagName, type FlagDef } from '../export-flags.js';

/**
 * A batch manifest (YAML): a list of exports, each in the CLI's own terms — the long flag names
 * of `export-studio mask_rcnn export` without the dashes (model, experiment_spec, output_file,
 * data_type, cal_image_dir, batches, …) — with `defaults` shared by every entry. The flags come
 * from the CLI's one flag table (export-flags.ts: names, value shapes, choices) and are turned
 * into requests by the CLI's own flagsToRequest with its defaults (shared/defaults.ts), so an
 * entry means exactly what the same flags mean on the command line. Keys never appear in a manifest: each entry names the environment variable that
 * holds its key (key_env, default EXPORT_STUDIO_KEY).
 *
 *   defaults:
 *     experiment_spec: specs/maskrcnn.txt
 *     gen_ds_config: true
 *   exports:
 *     - name: retail-int8
 *       model: models/retail.tlt
 *       data_type: int8
 *       cal_image_dir: data/cal
 *       output_file: out/retail/model.etlt
 */
export const DEFAULT_KEY_ENV = 'EXPORT_STUDIO_KEY';

/** Keys an entry may have besides the export flags. */
const ENTRY_KEYS = new Set(['name', 'key_env']);
const TOP_KEYS = new Set(['version', 'name', 'defaults', 'exports']);
/** Flags that make no sense per entry in a batch (or would put the key in the file). */
const REFUSED: Record<string, string> = {
  key: 'Keys never go in a manifest (it would end up in scripts, job specs and logs): set key_env to the name of an environment variable holding the key (default EXPORT_STUDIO_KEY).',
  k: 'Keys never go in a manifest: use key_env.',
};

export interface ManifestEntry {
  /** 0-based position in `exports`. */
  index: number;
  name: string;
  /** 1-based line of the entry in the manifest. */
  line: number;
  keyEnv: string;
  /** The entry's flags merged over the defaults (manifest spelling), for scripts and summaries. */
  flags: Record<string, string | number | boolean | (string | number)[]>;
  /** Whether the entry (or the defaults) chose the device (gpu_index / cpu). */
  deviceChosen: boolean;
  /** The export request (key from key_env, or a placeholder when validating without keys). */
  request: ExportRequest;
  notices: FlagNotice[];
}

export interface Manifest {
  file: string;
  /** Top-level name (job names on the cluster), or the file's base name. */
  name: string;
  entries: ManifestEntry[];
}

export interface ManifestProblem {
  line: number;
  column: number;
  message: string;
  /** The source line holds a secret: show it masked. */
  secret?: boolean;
}

export interface LoadOptions {
  env: NodeJS.ProcessEnv;
  /** Require key_env to be set: for every entry (local runs) or those the predicate names (one task). Otherwise a placeholder key validates. */
  requireKeys: boolean | ((index: number) => boolean);
  /** Check that model / spec / calibration inputs exist here (not for a cluster's paths). */
  checkInputs: boolean;
}

interface FlagSpec {
  /** Manifest spelling: the long flag without dashes (and without no- for negatable ones). */
  name: string;
  /** The ExportFlags field (the table's key). */
  field: ExportFlagName;
  takesValue: boolean;
  variadic: boolean;
  negate: boolean;
  choices: readonly string[] | undefined;
}

/** Export flags that mean nothing per entry of a batch. */
const NOT_PER_ENTRY = new Set<ExportFlagName>(['key', 'dryRun']);

/** The flags of `mask_rcnn export` in manifest spelling, from the CLI's one flag table. */
export function exportFlagSpecs(): Map<string, FlagSpec> {
  const out = new Map<string, FlagSpec>();
  for (const [field, def] of Object.entries(EXPORT_FLAGS) as [ExportFlagName, FlagDef][]) {
    if (NOT_PER_ENTRY.has(field)) continue;
    const o = flagOption(def);
    if (!o.long) continue;
    const long = o.long.replace(/^--/, '');
    const name = o.negate ? long.replace(/^no-/, '') : long;
    out.set(name, { name, field, takesValue: o.required || o.optional, variadic: o.variadic, negate: o.negate, choices: def.choices });
  }
  return out;
}

function closest(word: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] ?? 0;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] ?? 0;
      dp[j] = Math.min((dp[j] ?? 0) + 1, (dp[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] ?? 0;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Read, parse and validate a manifest: every problem at once, each with its line. */
export function loadManifest(file: string, opts: LoadOptions): Manifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StudioError(code === 'ENOENT' ? 'E_FILE_NOT_FOUND' : 'E_FILE_UNREADABLE', `Cannot read the batch manifest ${file}: ${(e as Error).message}`, 'Pass the path of a YAML manifest (see docs/CLI.md, batch).', { file });
  }
  return parseManifest(text, file, opts);
}

export function parseManifest(text: string, file: string, opts: LoadOptions): Manifest {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: ManifestProblem[] = [];
  const at = (node: YamlNode | Pair | null | undefined, message: string, secret = false) => {
    const range = node && 'range' in node ? node.range : node && 'key' in node && isScalar(node.key) ? node.key.range : undefined;
    const pos = lc.linePos(range?.[0] ?? 0);
    problems.push({ line: pos.line, column: pos.col, message, ...(secret ? { secret } : {}) });
  };
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    problems.push({ line: pos.line, column: pos.col, message: `YAML: ${e.message.split('\n')[0] ?? e.message}` });
  }
  if (problems.length > 0) throw manifestError(file, text, problems);

  const root = doc.contents;
  if (!isMap(root)) {
    at(root, 'the manifest must be a mapping with an `exports:` list (and optional `defaults:`)');
    throw manifestError(file, text, problems);
  }
  const specs = exportFlagSpecs();
  let manifestName = path.basename(file).replace(/\.(ya?ml)$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 63) || 'batch';
  let defaults: YAMLMap | null = null;
  let exportsSeq: YamlNode | null = null;
  for (const pair of root.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!TOP_KEYS.has(k)) {
      const near = closest(k, TOP_KEYS);
      at(pair, `unknown top-level key '${k}'${near ? ` (did you mean '${near}'?)` : ''}; expected defaults, exports, name, version`);
      continue;
    }
    const v = pair.value as YamlNode | null;
    if (k === 'version') {
      if (!isScalar(v) || Number(v.value) !== 1) at(v ?? pair, 'version must be 1');
    } else if (k === 'name') {
      if (!isScalar(v) || typeof v.value !== 'string' || !NAME_RE.test(v.value)) at(v ?? pair, 'name must be 1–63 letters, digits, dots, dashes or underscores');
      else manifestName = v.value;
    } else if (k === 'defaults') {
      if (v === null || (isScalar(v) && v.value === null)) continue;
      if (!isMap(v)) at(v ?? pair, 'defaults must be a mapping of export flags (e.g. experiment_spec: spec.txt)');
      else defaults = v;
    } else if (k === 'exports') exportsSeq = v;
  }
  if (exportsSeq === null) at(root, 'the manifest has no `exports:` list');
  else if (!isSeq(exportsSeq) || exportsSeq.items.length === 0) at(exportsSeq, '`exports:` must be a non-empty list of exports (- model: …)');

  // Flags of the defaults, checked once; entries inherit them.
  const defaultFlags = defaults ? readFlags(defaults, specs, at, true) : { flags: {}, nodes: {} };
  const entries: ManifestEntry[] = [];
  const names = new Map<string, number>();
  const writers = new Map<string, { line: number; name: string }>();
  if (isSeq(exportsSeq)) {
    exportsSeq.items.forEach((item, index) => {
      const node = item as YamlNode;
      const line = lc.linePos(node.range?.[0] ?? 0).line;
      if (!isMap(node)) {
        at(node, `exports[${index}] must be a mapping of export flags (- model: …)`);
        return;
      }
      const own = readFlags(node, specs, at, false);
      const merged = { ...defaultFlags.flags, ...own.flags };
      const nodeOf = (flag: string): YamlNode | Pair => own.nodes[flag] ?? defaultFlags.nodes[flag] ?? node;
      const nameNode = node.get('name', true) as YamlNode | undefined;
      const keyEnvNode = (node.get('key_env', true) ?? defaults?.get('key_env', true)) as YamlNode | undefined;
      let name = `${String(index + 1).padStart(2, '0')}-${path.basename(String(merged.model ?? 'export')).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '-')}`.slice(0, 63);
      if (nameNode !== undefined) {
        if (!isScalar(nameNode) || typeof nameNode.value !== 'string' || !NAME_RE.test(nameNode.value)) at(nameNode, 'name must be 1–63 letters, digits, dots, dashes or underscores');
        else name = nameNode.value;
      }
      const dup = names.get(name);
      if (dup !== undefined) at(nameNode ?? node, `name '${name}' is already used by the entry at line ${dup}`);
      names.set(name, line);
      let keyEnv = DEFAULT_KEY_ENV;
      if (keyEnvNode !== undefined) {
        if (!isScalar(keyEnvNode) || typeof keyEnvNode.value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(keyEnvNode.value)) at(keyEnvNode, 'key_env must be the name of an environment variable (e.g. MODEL_KEY)');
        else keyEnv = keyEnvNode.value;
      }
      if (merged.model === undefined) {
        at(node, `exports[${index}] has no model (model: path/to/model.tlt)`);
        return;
      }
      const key = opts.env[keyEnv];
      const needKey = typeof opts.requireKeys === 'function' ? opts.requireKeys(index) : opts.requireKeys;
      if (needKey && (key === undefined || key === '')) {
        at(keyEnvNode ?? node, `the key for this export is read from $${keyEnv}, which is not set`);
      }
      // The manifest's flags as ExportFlags, then the CLI's own mapping (and its defaults).
      const flagValues: Record<string, unknown> = {};
      for (const [flag, value] of Object.entries(merged)) {
        const spec = specs.get(flag);
        if (!spec) continue;
        flagValues[spec.field] = spec.takesValue ? (spec.variadic ? (Array.isArray(value) ? value : [value]).map(String) : String(value)) : value;
      }
      let request: ExportRequest | null = null;
      let notices: FlagNotice[] = [];
      try {
        const mapped = flagsToRequest(flagValues as unknown as ExportFlags, { [DEFAULT_KEY_ENV]: key && key !== '' ? key : 'placeholder-key-for-validation' });
        notices = mapped.notices;
        const parsed = ExportRequestSchema.safeParse(mapped.request);
        if (!parsed.success) {
          for (const i of parsed.error.issues.slice(0, 5)) at(node, `${i.path.join('.') || 'request'}: ${i.message}`);
        } else request = parsed.data;
      } catch (e) {
        if (!isStudioError(e)) throw e;
        const flag = /--([a-z_]+)/.exec(e.message)?.[1];
        at(flag ? nodeOf(flag) : node, `${e.message.replace(/--([a-z_]+)/g, '$1')}`);
      }
      if (!request) return;
      if (opts.checkInputs) {
        for (const [flag, p] of [
          ['model', request.model],
          ['experiment_spec', request.spec],
          ['cal_image_dir', request.calibration?.source === 'image-dir' ? request.calibration.imageDir : undefined],
          ['cal_data_file', request.calibration?.source === 'tensorfile' ? request.calibration.tensorfile : undefined],
        ] as const) {
          if (p !== undefined && !fs.existsSync(p)) at(nodeOf(flag), `${flag}: ${p} does not exist (relative paths are taken from ${process.cwd()})`);
        }
      }
      // Two entries writing one file would clobber each other: refused here, naming both.
      const clashes = new Map<string, { other: { line: number; name: string }; files: string[] }>();
      for (const w of plannedWrites(request, process.cwd())) {
        const other = writers.get(w);
        if (!other) {
          writers.set(w, { line, name });
          continue;
        }
        const c = clashes.get(other.name) ?? { other, files: [] };
        c.files.push(path.basename(w));
        clashes.set(other.name, c);
      }
      for (const { other, files } of clashes.values()) {
        at(nodeOf('output_file'), `writes ${files.join(', ')} in the same place as the entry '${other.name}' at line ${other.line}: give each entry its own output_file folder`);
      }
      if (opts.checkInputs) {
        const outDir = path.dirname(path.resolve(request.outputs.etlt));
        if (!fs.existsSync(outDir)) at(nodeOf('output_file'), `output folder ${outDir} does not exist (create it first: mkdir -p ${outDir})`);
      }
      entries.push({
        index,
        name,
        line,
        keyEnv,
        flags: merged,
        deviceChosen: merged.gpu_index !== undefined || merged.cpu === true,
        request: key && key !== '' ? request : { ...request, key: '' },
        notices,
      });
    });
  }
  if (problems.length > 0) throw manifestError(file, text, problems);
  return { file: path.resolve(file), name: manifestName, entries };
}

type At = (node: YamlNode | Pair | null | undefined, message: string, secret?: boolean) => void;

/** Check one mapping of flags against the CLI's definitions; returns the values in manifest spelling. */
function readFlags(map: YAMLMap, specs: Map<string, FlagSpec>, at: At, isDefaults: boolean): { flags: ManifestEntry['flags']; nodes: Record<string, Pair> } {
  const flags: ManifestEntry['flags'] = {};
  const nodes: Record<string, Pair> = {};
  for (const pair of map.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    if (ENTRY_KEYS.has(k)) {
      if (k === 'name' && isDefaults) at(pair, 'name belongs to each entry, not to defaults');
      continue;
    }
    if (REFUSED[k] !== undefined) {
      at(pair, REFUSED[k], true);
      continue;
    }
    const spec = specs.get(k) ?? specs.get(k.replace(/-/g, '_'));
    if (!spec) {
      const near = closest(k, [...specs.keys(), ...ENTRY_KEYS]);
      at(pair, `unknown flag '${k}'${near ? ` (did you mean '${near}'?)` : ''}: entries use the long flags of \`export-studio mask_rcnn export\` without the dashes`);
      continue;
    }
    const v = pair.value as YamlNode | null;
    const value: unknown = isScalar(v) ? v.value : isSeq(v) ? v.items.map((i) => (isScalar(i) ? i.value : undefined)) : undefined;
    nodes[spec.name] = pair;
    if (!spec.takesValue) {
      if (typeof value !== 'boolean') {
        at(v ?? pair, `${spec.name} is a switch: write ${spec.name}: true or ${spec.name}: false`);
        continue;
      }
      if (value || spec.negate) flags[spec.name] = value;
      continue;
    }
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0 || list.some((x) => typeof x !== 'string' && typeof x !== 'number') || (Array.isArray(value) && !spec.variadic)) {
      at(v ?? pair, `${spec.name} needs ${spec.variadic ? 'a value or a list of values' : 'one value (a string or a number)'}`);
      continue;
    }
    const vals = list as (string | number)[];
    if (spec.choices && vals.some((x) => !spec.choices?.includes(String(x)))) {
      at(v ?? pair, `${spec.name} must be one of ${spec.choices.join(', ')}; got '${vals.join(' ')}'`);
      continue;
    }
    flags[spec.name] = Array.isArray(value) ? vals : (vals[0] as string | number);
  }
  return { flags, nodes };
}

function manifestError(file: string, text: string, problems: ManifestProblem[]): StudioError {
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  const first = problems[0] ?? { line: 1, column: 1, message: 'invalid manifest' };
  const lines = text.split(/\r?\n/);
  const excerpt = problems
    .map((p) => {
      const src = lines[p.line - 1]?.trimEnd();
      // A key written in the manifest is refused, and never echoed back.
      const shown = src === undefined ? undefined : p.secret || /^\s*-?\s*['"]?(key|k)['"]?\s*:/.test(src) ? src.replace(/^(\s*-?\s*[^:]+:).*$/, '$1 ********') : src;
      return `${path.basename(file)}:${p.line}:${p.column}: ${p.message}${shown !== undefined ? `\n    ${shown}` : ''}`;
    })
    .join('\n');
  return new StudioError(
    'E_MANIFEST_INVALID',
    problems.length === 1 ? first.message : `${problems.length} problems in the batch manifest (nothing was run)`,
    'Fix the lines shown; entries use the long flags of `export-studio mask_rcnn export` without dashes (see docs/CLI.md, batch).',
    { file: path.resolve(file), line: first.line, column: first.column, excerpt },
    { details: { problems: problems.length } },
  );
}
