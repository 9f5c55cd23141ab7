import { StudioError } from '../../../shared/errors.js';
import { readRegularFile } from '../io/inputs.js';

/** Largest val_json_file read for labels (COCO annotation files of big sets reach a few hundred MB). */
export const LABELS_JSON_MAX_BYTES = 1024 * 2 ** 20;

/**
 * labels.txt for DeepStream: line i is the name of class id i, `BG` on line 0.
 *
 * TAO Mask R-CNN trains on raw COCO category ids (dataset_convert does not remap them), so the
 * model's class id is the category id. TAO's exporter writes the category names sorted by id
 * after `BG`, which shifts every name after a gap (COCO: 80 names, ids up to 90). Here every id
 * from 0 to num_classes-1 gets its own line; ids without a category get `class_<id>`.
 */

export interface Labels {
  /** One name per line, num_classes lines, newline-terminated. */
  text: string;
  names: string[];
  warnings: string[];
}

export const BACKGROUND = 'BG';

export function placeholderName(id: number): string {
  return `class_${id}`;
}

interface Category {
  id: number;
  name: string;
}

function jsonError(file: string, message: string, hint: string, cause?: unknown): StudioError {
  return new StudioError('E_LABELS_JSON', message, hint, { file }, cause === undefined ? {} : { cause });
}

/** Validate the `categories` of a COCO annotation file. */
export function readCategories(json: unknown, file: string): Category[] {
  const hint = 'labels.txt is built from the COCO "categories" list ({"id": <int>, "name": <string>}) of data_config.val_json_file.';
  if (typeof json !== 'object' || json === null || !('categories' in json)) {
    throw jsonError(file, `${file} has no "categories" list; it does not look like a COCO annotation file`, hint);
  }
  const cats = (json as { categories: unknown }).categories;
  if (!Array.isArray(cats)) throw jsonError(file, `"categories" in ${file} is not a list`, hint);
  const out: Category[] = [];
  const seen = new Map<number, string>();
  cats.forEach((c: unknown, i) => {
    const id = (c as { id?: unknown } | null)?.id;
    const name = (c as { name?: unknown } | null)?.name;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw jsonError(file, `categories[${i}] in ${file} has no valid "id" (found ${JSON.stringify(id)})`, hint);
    }
    if (typeof name !== 'string') throw jsonError(file, `categories[${i}] (id ${id}) in ${file} has no "name" string`, hint);
    if (id === 0) {
      throw jsonError(file, `categories[${i}] '${name}' in ${file} has id 0, which is the background class`, 'Category ids must start at 1 (TAO dataset_convert refuses id 0 too).');
    }
    const prev = seen.get(id);
    if (prev !== undefined) throw jsonError(file, `Category id ${id} appears twice in ${file} ('${prev}' and '${name}')`, 'Give each category its own id.');
    seen.set(id, name);
    out.push({ id, name });
  });
  return out;
}

/** Pure part: names for ids 0..numClasses-1 from the categories. */
export function labelsFromCategories(categories: readonly Category[], numClasses: number, file = 'val_json_file'): Labels {
  const warnings: string[] = [];
  const names = Array.from({ length: numClasses }, (_, id) => (id === 0 ? BACKGROUND : placeholderName(id)));
  const tooBig: Category[] = [];
  const filled = new Set<number>();
  for (const c of categories) {
    if (c.id >= numClasses) {
      tooBig.push(c);
      continue;
    }
    // One line per class: line breaks or surrounding space in a name would shift or blur lines.
    // eslint-disable-next-line no-control-regex
    const clean = c.name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
    if (clean === '') warnings.push(`Category id ${c.id} in ${file} has an empty name; labels.txt uses '${placeholderName(c.id)}'.`);
    else names[c.id] = clean;
    filled.add(c.id);
  }
  if (tooBig.length > 0) {
    const list = tooBig.map((c) => `${c.id} '${c.name}'`).join(', ');
    warnings.push(`${file}: category id(s) ${list} are ≥ num_classes (${numClasses}); the model cannot predict them and labels.txt leaves them out. Check data_config.num_classes (it must exceed the largest category id).`);
  }
  const gaps = names.map((_, id) => id).filter((id) => id > 0 && !filled.has(id));
  if (gaps.length > 0 && categories.length > 0) {
    const shown = gaps.length > 12 ? `${gaps.slice(0, 12).join(', ')}, … (${gaps.length} in all)` : gaps.join(', ');
    warnings.push(`${file} has no category for class id(s) ${shown}; labels.txt names them class_<id> so that line i stays class id i.`);
  }
  return { text: names.join('\n') + '\n', names, warnings };
}

/**
 * Build labels.txt from the COCO json (data_config.val_json_file). No path, a missing or an
 * unreadable file gives placeholder labels and a warning; malformed JSON is E_LABELS_JSON.
 */
export async function buildLabels(valJsonPath: string | undefined, numClasses: number): Promise<Labels> {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new StudioError('E_USAGE', `labels.txt: num_classes must be a positive integer, got ${numClasses}`, 'Use data_config.num_classes from the spec.');
  }
  const fallback = (why: string): Labels => {
    const l = labelsFromCategories([], numClasses);
    return { ...l, warnings: [`${why}; labels.txt has placeholder names (BG, class_1 … class_${numClasses - 1}). Edit it or fix data_config.val_json_file.`] };
  };
  if (valJsonPath === undefined || valJsonPath === '') return fallback('No data_config.val_json_file in the spec');
  let raw: Buffer;
  try {
    raw = await readRegularFile(valJsonPath, LABELS_JSON_MAX_BYTES, 'val_json_file');
  } catch (e) {
    // A FIFO, device or oversized file is an error (it is not a missing file to fall back from).
    if (e instanceof StudioError && (e.code === 'E_INPUT_TOO_LARGE' || (e.code === 'E_FILE_UNREADABLE' && e.details?.kind !== undefined))) throw e;
    const code = ((e as StudioError).cause as NodeJS.ErrnoException | undefined)?.code ?? (e as NodeJS.ErrnoException).code;
    return fallback(code === 'ENOENT' ? `val_json_file ${valJsonPath} does not exist` : `Cannot read val_json_file ${valJsonPath} (${code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    // A training-set annotation file can be too big for one JS string; only its categories matter.
    if (raw.length > BIG_JSON) {
      const cats = categoriesSlice(raw);
      json = cats === undefined ? {} : { categories: JSON.parse(cats) };
    } else {
      json = JSON.parse(raw.toString('utf8'));
    }
  } catch (e) {
    throw jsonError(valJsonPath, `${valJsonPath} is not valid JSON: ${(e as Error).message}`, 'Fix or replace data_config.val_json_file (a COCO annotation file).', e);
  }
  return labelsFromCategories(readCategories(json, valJsonPath), numClasses, valJsonPath);
}

/** Above this size the file is scanned for its top-level "categories" instead of parsed whole. */
export const BIG_JSON = 64 * 1024 * 1024;

const KEY = Buffer.from('"categories"');

/**
 * The text of the top-level "categories" value of a JSON object, found by a lexical scan that
 * tracks strings and nesting depth (so a "categories" inside a string or a nested object is
 * skipped). Undefined when absent; throws SyntaxError on unbalanced input.
 */
export function categoriesSlice(buf: Buffer): string | undefined {
  let depth = 0;
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const c = buf[i] as number;
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < n && buf[i] !== 0x22) i += buf[i] === 0x5c /* \\ */ ? 2 : 1;
      i++;
      if (depth === 1 && i - start === KEY.length && buf.subarray(start, i).equals(KEY)) {
        let j = i;
        while (j < n && (buf[j] === 0x20 || buf[j] === 0x0a || buf[j] === 0x0d || buf[j] === 0x09)) j++;
        if (buf[j] !== 0x3a /* : */) continue;
        j++;
        while (j < n && (buf[j] === 0x20 || buf[j] === 0x0a || buf[j] === 0x0d || buf[j] === 0x09)) j++;
        const valueStart = j;
        // A scalar is not a list; readCategories reports it.
        if (buf[valueStart] !== 0x5b && buf[valueStart] !== 0x7b) return 'null';
        let d = 0;
        for (; j < n; j++) {
          const b = buf[j] as number;
          if (b === 0x22) {
            j++;
            while (j < n && buf[j] !== 0x22) j += buf[j] === 0x5c ? 2 : 1;
          } else if (b === 0x5b || b === 0x7b) d++;
          else if (b === 0x5d || b === 0x7d) {
            d--;
            if (d === 0) return buf.subarray(valueStart, j + 1).toString('utf8');
          }
        }
        throw new SyntaxError('unterminated "categories" value');
      }
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    i++;
  }
  return undefined;
}
