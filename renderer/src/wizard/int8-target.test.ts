import { describe, expect, it } from 'vitest';
import { EXPORT_DEFAULTS } from '../../../shared/defaults.js';
import { ExportRequestSchema } from '../../../shared/request.js';
import { int8RequestFields, useInt8TargetOption } from './Int8Target.js';

describe('the INT8 check options the wizard sends', () => {
  it('held-out images default to the CLI default and a chosen count reaches a valid request', () => {
    expect(int8RequestFields().images).toBe(EXPORT_DEFAULTS.fidelityImages);
    useInt8TargetOption.getState().setImages(24);
    useInt8TargetOption.getState().setText('snr=25');
    useInt8TargetOption.getState().setSearch(false);
    const fidelity = { enabled: true, ...int8RequestFields() };
    const r = ExportRequestSchema.parse({ model: '/m/model.onnx', key: 'k', precision: 'int8', outputs: { etlt: '/o/model.etlt' }, calibration: { source: 'image-dir', imageDir: '/imgs' }, fidelity });
    expect(r.fidelity?.images).toBe(24);
    expect(r.fidelity?.search).toBe('off');
    expect(r.fidelity?.target).toBeDefined();
  });
});
