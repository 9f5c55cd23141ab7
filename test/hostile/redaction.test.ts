import { describe, expect, it } from 'vitest';
import { KEY_MASK, redact } from '../../shared/redact.js';
import { KEY_ENV_REF, requestToCommand } from '../../electron/pipeline/command.js';
import { ExportRequestSchema } from '../../shared/request.js';
import type { JobEvent } from '../../shared/events.js';
import { runExport } from '../../electron/pipeline/run.js';
import os from 'node:os';
import path from 'node:path';

/** Issue 11, key redaction: the key is masked as a value, never as a substring of other words. */
describe('key redaction by value position', () => {
  const cmd = 'export-studio mask_rcnn export -m /data/model/m.tlt -k KEY -e spec.txt -o out/model.etlt';
  const keys = ['a', 'm', 's', '.', '-', '/', 'model', 'data', 'rcnn', 'studio', 'tlt', 'etlt'];
  for (const key of keys) {
    it(`a key '${key}' masks only its value, not the words or paths that contain it`, () => {
      const text = cmd.replace(' -k KEY ', ` -k ${key} `);
      const out = redact(text, [key]);
      expect(out).toBe(cmd.replace(' -k KEY ', ` -k ${KEY_MASK} `));
    });
  }

  it('masks a short key where it is written as a value: quoted, after =, after :, JSON, as a whole word', () => {
    for (const [text, want] of [
      ['EXPORT_STUDIO_KEY=ab', `EXPORT_STUDIO_KEY=${KEY_MASK}`],
      ['tlt-model-key=ab', `tlt-model-key=${KEY_MASK}`],
      ['key: "ab"', `key: "${KEY_MASK}"`],
      ["key: 'ab'", `key: '${KEY_MASK}'`],
      ['{"key":"ab"}', `{"key":"${KEY_MASK}"}`],
      ['ab', KEY_MASK],
      ['ab ab', `${KEY_MASK} ${KEY_MASK}`],
      ['abab tab ab.c', 'abab tab ab.c'],
    ]) expect(redact(text as string, ['ab'])).toBe(want);
  });

  it('masks a long key anywhere (a 12+ character key does not occur by chance)', () => {
    const k = 'CANARY-9f1e-key-Zq7';
    expect(redact(`/keys/${k}/m.etlt x${k}y`, [k])).toBe(`/keys/${KEY_MASK}/m.etlt x${KEY_MASK}y`);
  });

  it('the command logged by a job keeps words equal to the key (it is built masked) and never holds the key as a value', async () => {
    for (const key of ['export', 'mask_rcnn', 'm', 'model']) {
      const events: JobEvent[] = [];
      const r = ExportRequestSchema.parse({ model: '/nonexistent/model/m.tlt', key, outputs: { etlt: path.join(os.tmpdir(), `none-${process.pid}`, 'model.etlt') } });
      await runExport(r, (e) => events.push(e)).catch(() => undefined);
      const line = events.find((e): e is Extract<JobEvent, { type: 'log' }> => e.type === 'log' && e.text.includes('mask_rcnn export'));
      expect(line?.text).toContain(requestToCommand(r));
      expect(line?.text).toContain(`-k ${KEY_ENV_REF}`);
    }
  });

  it('the shown command never contains a one-character key and keeps every other character', () => {
    for (const key of ['a', 'k', '-', ' ', '"']) {
      const r = ExportRequestSchema.parse({ model: '/data/mask_rcnn/model.tlt', key, outputs: { etlt: '/data/out/a.etlt' } });
      const c = requestToCommand(r);
      expect(c).toContain('/data/mask_rcnn/model.tlt');
      expect(c).toContain(`-k ${KEY_ENV_REF}`);
      expect(c.split(`-k ${KEY_ENV_REF}`).join('')).not.toMatch(new RegExp(`\\s${key.replace(/[-"\s]/g, '\\$&')}\\s`));
    }
  });
});
