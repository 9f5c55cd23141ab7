/**
 * torchvision's Mask R-CNN (ResNet-50 FPN, seeded random weights) exported to ONNX: a real
 * detector architecture (loops, RoiAlign, 178 MB) for the tests that read or round-trip one.
 * `npm test`'s global set-up (test/support/global-setup.ts) exports it once with Debian's
 * python3-torchvision (scripts/torchvision/export_maskrcnn.py, about 30 s) into .cache/models/;
 * without that package the tests that need it skip with the install command.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON, pythonModule, type Need } from './needs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TV_MASKRCNN_FILE = path.join(ROOT, '.cache/models/tv-maskrcnn.onnx');
const LOG = TV_MASKRCNN_FILE.replace(/\.onnx$/, '.log');

let torchvision: Need | undefined;
/** Whether /usr/bin/python3 imports torchvision (a 2–3 s probe: asked once per process). */
const hasTorchvision = (): Need => (torchvision ??= pythonModule('torchvision', 'python3-torchvision'));

/** Export the model unless it is there; a failure is left in the log and reported by `tvMaskRcnn()`. */
export function ensureTvMaskRcnn(): void {
  if (fs.existsSync(TV_MASKRCNN_FILE) || !hasTorchvision().ok) return;
  fs.mkdirSync(path.dirname(TV_MASKRCNN_FILE), { recursive: true });
  const tmp = `${TV_MASKRCNN_FILE}.${process.pid}.tmp`;
  const r = spawnSync(PYTHON, [path.join(ROOT, 'scripts/torchvision/export_maskrcnn.py'), tmp, '--no-verify'], { encoding: 'utf8', timeout: 600_000 });
  fs.writeFileSync(LOG, `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`);
  if (r.status === 0 && fs.existsSync(tmp)) fs.renameSync(tmp, TV_MASKRCNN_FILE);
  else fs.rmSync(tmp, { force: true });
}

/** What a test of the exported model needs, with the reason when it is missing. */
export function tvMaskRcnn(): Need {
  if (fs.existsSync(TV_MASKRCNN_FILE)) return { ok: true, reason: '' };
  const pkg = hasTorchvision();
  if (!pkg.ok) return { ok: false, reason: `${pkg.reason} for the torchvision Mask R-CNN export` };
  return { ok: false, reason: `the torchvision Mask R-CNN export is absent (${TV_MASKRCNN_FILE}): npm test writes it; see ${LOG} if it failed` };
}
