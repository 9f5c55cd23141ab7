import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExportRequestSchema } from '../../shared/request.js';
import { flagsToRequest, type ExportFlags } from './export-args.js';
import { requestToCommand } from '../pipeline/command.js';

const base: ExportFlags = { model: 'models/model.epoch-10.tlt', key: 'tlt_encode', dataType: 'fp32' };

describe('TAO flags → ExportRequest', () => {
  it('defaults the output to the model path minus its extension + .etlt like TAO', () => {
    const { request } = flagsToRequest(base, {});
    expect(request.outputs.etlt).toBe('models/model.epoch-10.etlt');
    // An .etlt input never defaults onto itself.
    expect(flagsToRequest({ ...base, model: 'm/x.etlt', dataType: 'int8', calImageDir: 'd' }, {}).request.outputs.etlt).toBe('m/x.int8.etlt');
    expect(ExportRequestSchema.parse(request).precision).toBe('fp32');
  });

  it('uses TAO calibration defaults and source rules', () => {
    const int8: ExportFlags = { ...base, dataType: 'int8', experimentSpec: 'spec.txt' };
    const spec = ExportRequestSchema.parse(flagsToRequest(int8, {}).request);
    expect(spec.calibration).toMatchObject({ source: 'spec-loader', batches: 10, batchSize: 16, algorithm: 'entropy', seed: 42 });
    expect(spec.outputs.cache).toBe('./cal.bin');

    const dir = ExportRequestSchema.parse(flagsToRequest({ ...int8, calImageDir: '/data/cal', calDataFile: '/tmp/does-not-exist.h5' }, {}).request);
    expect(dir.calibration).toMatchObject({ source: 'image-dir', imageDir: '/data/cal', tensorfile: '/tmp/does-not-exist.h5', writeTensorfile: true });

    const existing = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tf-')), 'cal.h5');
    fs.writeFileSync(existing, 'x');
    const r = flagsToRequest({ ...int8, calImageDir: '/data/cal', calDataFile: existing }, {});
    expect(r.request.calibration).toMatchObject({ source: 'tensorfile', tensorfile: existing });
    expect(r.notices.some((n) => /is used as-is/.test(n.text))).toBe(true);
  });

  it('takes the key from EXPORT_STUDIO_KEY and requires one', () => {
    const { key: _k, ...noKey } = base;
    expect(flagsToRequest(noKey, { EXPORT_STUDIO_KEY: 'from-env' }).request.key).toBe('from-env');
    expect(() => flagsToRequest(noKey, {})).toThrow(expect.objectContaining({ code: 'E_KEY_REQUIRED' }));
  });

  it('rejects bad numbers with E_USAGE and notes TAO flags that do nothing here', () => {
    expect(() => flagsToRequest({ ...base, dataType: 'int8', batches: '0' }, {})).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => flagsToRequest({ ...base, gpuIndex: ['x'] }, {})).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    const { notices } = flagsToRequest({ ...base, strictTypeConstraints: true, forcePtq: true }, {});
    expect(notices.filter((n) => /no effect/.test(n.text))).toHaveLength(2);
  });

  it('round-trips through the shown command with the key masked', () => {
    const { request } = flagsToRequest({ ...base, dataType: 'int8', experimentSpec: 'my spec.txt', calImageDir: '/data/cal', batches: '4', batchSize: '8', gpuIndex: ['1'], genDsConfig: true, calAlgorithm: 'percentile', calPercentile: '99.9' }, {});
    const cmd = requestToCommand(ExportRequestSchema.parse(request));
    expect(cmd).not.toContain('tlt_encode');
    expect(cmd).toContain('-k "$EXPORT_STUDIO_KEY"');
    expect(cmd).toContain("-e 'my spec.txt'");
    expect(cmd).toContain('--data_type int8');
    expect(cmd).toContain('--cal_image_dir /data/cal');
    expect(cmd).toContain('--batches 4 --batch_size 8');
    expect(cmd).toContain('--gpu_index 1');
    expect(cmd).toContain('--cal_algorithm percentile --cal_percentile 99.9');
  });
});
