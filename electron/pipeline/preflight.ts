import fs from 'node:fs/promises';
import path from 'node:path';
import type { Preflight, PreflightProblem } from '../../shared/api.js';
import type { ExportRequest } from '../../shared/request.js';
import sharp from 'sharp';
import { decodeBmp, isBmp } from './data/bmp.js';
import { calibrationImageFolders, listImages } from './data/image-list.js';
import { planOutputs, type OutputPlan } from './paths.js';
import { loadSpec } from './spec/loader.js';

/**
 * What the app's Review step checks before Start (issue 12): the problems the job would otherwise
 * hit only at run time — a missing output folder, outputs that exist, a folder that cannot be
 * written, unreadable calibration images — and the previous run's files the job would leave beside
 * the new ones. Each problem carries the one fix the app offers. Reads only; writes nothing.
 */
export async function preflightRequest(r: ExportRequest, cwd: string = process.cwd()): Promise<Preflight> {
  const plan = planOutputs(r, cwd);
  const problems: PreflightProblem[] = [];
  const reusable = new Set<keyof OutputPlan>(['cache', 'provenance', 'calibrationReport']);
  const files = Object.entries(plan) as [keyof OutputPlan, string][];

  // Folders first: with a missing folder, "exists" cannot apply to the files in it.
  const dirs = [...new Set(files.map(([, f]) => path.dirname(f)))];
  const missing = new Set<string>();
  for (const d of dirs) {
    const st = await fs.stat(d).catch(() => null);
    if (!st) {
      missing.add(d);
      problems.push({ id: 'output-dir-missing', severity: 'error', message: `The output folder ${d} does not exist.`, files: [d], fix: { kind: 'mkdir', dir: d }, fixLabel: 'Create the folder' });
    } else if (!st.isDirectory()) {
      missing.add(d);
      problems.push({ id: 'output-not-writable', severity: 'error', message: `${d} is a file, not a folder: choose another output path.`, files: [d] });
    } else if (!(await fs.access(d, fs.constants.W_OK).then(() => true, () => false))) {
      missing.add(d);
      problems.push({ id: 'output-not-writable', severity: 'error', message: `The output folder ${d} is not writable: choose another output path.`, files: [d] });
    }
  }

  const inputs = [r.model, r.spec].filter((x): x is string => Boolean(x)).map((x) => path.resolve(cwd, x));
  for (const [role, f] of files) {
    if (inputs.includes(f) && !(role === 'etlt' && r.overwrite)) {
      problems.push({ id: 'output-is-input', severity: 'error', message: `The ${role} output would replace an input of this export: choose another output path.`, files: [f] });
    }
  }

  const exists: string[] = [];
  const dirsInPlace: string[] = [];
  for (const [role, f] of files) {
    if (missing.has(path.dirname(f)) || reusable.has(role) || inputs.includes(f)) continue;
    const st = await fs.stat(f).catch(() => null);
    if (st?.isDirectory()) dirsInPlace.push(f);
    else if (st) exists.push(f);
  }
  if (dirsInPlace.length > 0) {
    problems.push({ id: 'output-not-writable', severity: 'error', message: `A folder is in the way of ${dirsInPlace.length === 1 ? 'an output' : 'outputs'}: choose another output path.`, files: dirsInPlace });
  }
  if (exists.length > 0 && !r.overwrite) {
    problems.push({
      id: 'output-exists',
      severity: 'error',
      message: `${exists.length === 1 ? 'An output already exists' : `${exists.length} outputs already exist`}; the export would stop rather than replace ${exists.length === 1 ? 'it' : 'them'}.`,
      files: exists,
      fix: { kind: 'overwrite' },
      fixLabel: 'Overwrite existing files',
    });
  }

  if (r.precision === 'int8' && plan.cache && !missing.has(path.dirname(plan.cache)) && r.calibration?.source !== 'cache' && !r.overwrite) {
    if (await fs.stat(plan.cache).then((s) => s.isFile(), () => false)) {
      problems.push({
        id: 'cache-exists',
        severity: 'warning',
        message: 'A calibration cache is already there. It is reused when its provenance matches this model, data and settings; otherwise the export stops. Overwrite recalibrates and replaces it when it does not match.',
        files: [plan.cache],
        fix: { kind: 'overwrite' },
        fixLabel: 'Overwrite existing files',
      });
    }
  }

  const leftovers = await previousRunFiles(plan, r);
  if (leftovers.length > 0) {
    problems.push({
      id: 'leftover',
      severity: 'warning',
      message: 'Files from a previous export are in the output folder and this export will not write them: they stay beside the new outputs, unchanged. Accept to keep them as they are.',
      files: leftovers,
      fix: { kind: 'accept' },
      fixLabel: 'Keep them',
    });
  }

  // Each image folder is listed once for both image checks.
  const listed = new Map<string, Promise<string[]>>();
  const imagesIn: ImagesIn = (dir) => {
    const d = path.resolve(dir);
    if (!listed.has(d)) listed.set(d, listImages(d).catch(() => []));
    return listed.get(d)!;
  };
  const unreadable = await unreadableImages(r, imagesIn);
  if (unreadable.length > 0) {
    problems.push({
      id: 'images-unreadable',
      severity: 'error',
      message: `${unreadable.length} selected calibration image(s) cannot be decoded.`,
      files: unreadable,
      fix: { kind: 'deselect-images', paths: unreadable },
      fixLabel: 'Deselect unreadable images',
    });
  }
  const noHeldOut = await heldOutShortage(r, imagesIn);
  if (noHeldOut) problems.push(noHeldOut);
  return { outputs: files.map(([role, f]) => ({ role, path: f })), problems };
}

/**
 * INT8 with its fidelity check, calibrated from images: the check compares on images of the same
 * folder(s) that calibration does not read (fidelity/heldout.ts), else on the spec's
 * validation_file_pattern. When neither is left, the export would end "INT8 not checked": say so
 * before Start.
 */
async function heldOutShortage(r: ExportRequest, imagesIn: ImagesIn): Promise<PreflightProblem | null> {
  const c = r.calibration;
  if (r.precision !== 'int8' || !c || r.fidelity?.enabled === false) return null;
  if (c.source !== 'image-dir' && c.source !== 'images') return null;
  if (r.spec) {
    const spec = await loadSpec(r.spec).catch(() => null);
    // A spec that does not load is reported by the job itself; one with validation records has a held-out set.
    if (!spec || spec.spec.experiment.data_config.validation_file_pattern) return null;
  }
  const dirs = calibrationImageFolders(c);
  let inFolders = 0;
  for (const d of dirs) inFolders += (await imagesIn(d)).length;
  // What calibration draws from: the folder itself, or the hand-picked list.
  const pool = c.source === 'image-dir' ? inFolders : (c.images ?? []).length;
  const read = Math.min(c.batches * c.batchSize, pool);
  if (pool === 0 || inFolders - read > 0) return null;
  return {
    id: 'no-held-out',
    severity: 'warning',
    message: `The INT8 check has no held-out images: calibration reads every image of ${dirs.length === 1 ? 'the folder' : 'the folders'} (${read}) and ${r.spec ? 'the spec sets no validation_file_pattern' : 'there is no spec with validation_file_pattern'}, so the export would end "INT8 not checked". Leave some images unselected on the Calibration step (or lower the batches), or add validation_file_pattern to the spec.`,
    files: dirs,
    fix: { kind: 'accept' },
    fixLabel: 'Export without the check',
  };
}

function stripExt(p: string): string {
  const ext = path.extname(p);
  return ext ? p.slice(0, -ext.length) : p;
}

/** Files a previous export of the same output would have written that this one will not. */
async function previousRunFiles(plan: OutputPlan, r: ExportRequest): Promise<string[]> {
  const dir = path.dirname(plan.etlt);
  const stem = stripExt(plan.etlt);
  const candidates = [
    path.join(dir, 'nvinfer_config.txt'),
    path.join(dir, 'labels.txt'),
    `${stem}.onnx`,
    `${stem}.deepstream.onnx`,
    `${stem}.qdq.onnx`,
    `${stem}.cal.bin`,
    `${stem}.cal.bin.json`,
    `${stem}.cal.calibration.json`,
    `${stem}.report.json`,
    `${stem}.engine`,
  ];
  const planned = new Set([...(Object.values(plan) as string[]), path.resolve(r.model)]);
  const out: string[] = [];
  for (const c of candidates) {
    if (planned.has(c)) continue;
    if (await fs.stat(c).then((s) => s.isFile(), () => false)) out.push(c);
  }
  return out;
}

/** The images of a folder (top level; none when it cannot be listed), listed once per preflight. */
type ImagesIn = (dir: string) => Promise<string[]>;

/** Calibration images (folder or list) whose header cannot be read as an image. */
async function unreadableImages(r: ExportRequest, imagesIn: ImagesIn): Promise<string[]> {
  const c = r.calibration;
  if (r.precision !== 'int8' || !c) return [];
  let files: string[];
  if (c.source === 'images') files = c.images ?? [];
  else if (c.source === 'image-dir' && c.imageDir) files = await imagesIn(c.imageDir);
  else return [];
  const bad: string[] = [];
  const queue = [...files];
  const worker = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) if (!(await readable(f))) bad.push(f);
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return bad.sort();
}

async function readable(file: string): Promise<boolean> {
  try {
    const bytes = await fs.readFile(file);
    if (isBmp(bytes)) {
      decodeBmp(bytes);
      return true;
    }
    // Header only (fast): catches non-images, empty and garbage files; a truncated body is
    // skipped (and counted) by the calibration itself.
    const meta = await sharp(bytes, { failOn: 'error' }).metadata();
    return (meta.width ?? 0) > 0 && (meta.height ?? 0) > 0;
  } catch {
    return false;
  }
}
