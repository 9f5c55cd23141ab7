import { describe, expect, it } from 'vitest';
import { appHint, remediesFor } from './remedies.js';

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
});
