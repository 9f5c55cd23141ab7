import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appHint, FLAG_CONTROLS, remediesFor } from './remedies.js';

describe('remedies in the app', () => {
  it('names the control instead of the flag', () => {
    expect(appHint('Pass --overwrite to replace it, or choose another output path.').text).toBe('Use “Overwrite existing files” (Output & GPU step) to replace it, or choose another output path.');
    const size = appHint('Pass --input_size HEIGHTxWIDTH (e.g. --input_size 832x1344), or the experiment spec (-e) so its image_size is used.');
    expect(size.text).not.toMatch(/--|HEIGHTxWIDTH|832x1344/);
    expect(size.text).toContain('“Input height and width” (Spec step)');
    expect(size.text).toContain('“Experiment spec” (Spec step)');
    expect(size.steps).toEqual(['spec']);
    expect(appHint('Pass -k <key> (or set EXPORT_STUDIO_KEY): the .etlt is encrypted with it.').text).toBe('Use “Model key” (Key step): the .etlt is encrypted with it.');
  });

  it('offers buttons: overwrite for an existing output, accept fewer for a shortage, the step otherwise', () => {
    expect(remediesFor({ code: 'E_OUTPUT_EXISTS', message: 'x', hint: 'Pass --overwrite to replace it' }).map((r) => r.remedy)).toEqual([{ kind: 'overwrite' }, { kind: 'goto', step: 'output' }]);
    expect(remediesFor({ code: 'E_CAL_TOO_FEW_SAMPLES', message: 'x', hint: 'pass --cal_accept_fewer' })[0]?.remedy).toEqual({ kind: 'accept-fewer' });
  });

  it('every flag the pipeline hints name has a control in the app', () => {
    const root = path.resolve(import.meta.dirname, '../../..');
    const dirs = ['electron/pipeline', 'electron/cli'];
    const named = new Set<string>();
    for (const d of dirs) {
      for (const e of fs.readdirSync(path.join(root, d), { withFileTypes: true, recursive: true })) {
        if (!e.isFile() || !e.name.endsWith('.ts') || e.name.endsWith('.test.ts')) continue;
        const text = fs.readFileSync(path.join(e.parentPath, e.name), 'utf8');
        // Hints: the third argument of new StudioError(code, message, hint, …) is a string literal.
        for (const m of text.matchAll(/new StudioError\(\s*'[A-Z_]+',\s*(?:`[^`]*`|'[^']*'),\s*(`[^`]*`|'[^']*')/g)) {
          for (const f of m[1]!.matchAll(/(?:^|[\s(`'])(--[a-z][a-z_-]*|-[a-z])(?![\w-])/g)) named.add(f[1]!);
        }
      }
    }
    expect(named.size).toBeGreaterThan(5);
    const missing = [...named].filter((f) => !(f in FLAG_CONTROLS) && f !== '--help' && f !== '--root');
    expect(missing).toEqual([]);
  });
});
