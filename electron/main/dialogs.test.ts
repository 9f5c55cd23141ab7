import { describe, expect, it } from 'vitest';
import type { FileKind } from '../../shared/api.js';
import { KIND_EXTENSIONS } from '../host/file-browser.js';
import { dialogOptionsFor } from './dialogs.js';

const KINDS: FileKind[] = ['model', 'spec', 'tensorfile', 'cache', 'images-dir', 'output-dir', 'any'];

describe('dialogOptionsFor', () => {
  it('uses dot-less extensions from the file browser list and always offers all files', () => {
    const o = dialogOptionsFor('model', { defaultPath: '/data/models' });
    expect(o.properties).toContain('openFile');
    expect(o.properties).not.toContain('openDirectory');
    expect(o.defaultPath).toBe('/data/models');
    expect(o.filters?.[0]?.extensions.sort()).toEqual(['etlt', 'onnx', 'tlt']);
    expect(o.filters?.at(-1)).toEqual({ name: 'All files', extensions: ['*'] });
  });

  it('never mixes files and folders in one dialog (Linux/Windows cannot)', () => {
    for (const k of KINDS) {
      const p = dialogOptionsFor(k).properties ?? [];
      expect(p.includes('openFile') !== p.includes('openDirectory'), k).toBe(true);
      const o = dialogOptionsFor(k);
      if (p.includes('openFile')) {
        const exts = (KIND_EXTENSIONS[k] ?? []).map((e) => e.slice(1));
        for (const f of o.filters ?? []) for (const e of f.extensions) expect(e.startsWith('.'), `${k}: ${e}`).toBe(false);
        if (exts.length) expect(o.filters?.[0]?.extensions).toEqual(exts);
      } else {
        expect(o.filters).toBeUndefined();
      }
    }
    expect(dialogOptionsFor('images-dir').properties).toContain('openDirectory');
    expect(dialogOptionsFor('output-dir').properties).toContain('createDirectory');
  });
});
