import { describe, expect, it } from 'vitest';
import { initialSource, keyVerified, needsKey, setKey, setModelPath, setSpecPath } from './source.js';
import { isStepSkipped, nextStep, prevStep } from './steps.js';
import { resolveTheme, toggledTheme } from './settings.js';

describe('source reducers', () => {
  it('needsKey for .tlt/.etlt only', () => {
    expect(needsKey('/a/b.TLT')).toBe(true);
    expect(needsKey('/a/b.etlt ')).toBe(true);
    expect(needsKey('/a/b.onnx')).toBe(false);
  });
  it('a new model path clears the card and the key check', () => {
    const s = { ...initialSource(), modelPath: '/a.tlt', model: {} as never, keyCheck: { status: 'ok' as const, ms: 1 }, checkedKey: 'k' };
    const t = setModelPath(s, '/b.tlt');
    expect(t.model).toBeNull();
    expect(t.keyCheck.status).toBe('idle');
    expect(setModelPath(s, '/a.tlt')).toBe(s);
  });
  it('editing the key drops the check; typing back the checked key restores it', () => {
    const ok = { ...initialSource(), modelPath: '/a.tlt', key: 'k', model: {} as never, keyCheck: { status: 'ok' as const, ms: 9 }, checkedKey: 'k' };
    expect(keyVerified(ok)).toBe(true);
    const edited = setKey(ok, 'kx');
    expect(edited.keyCheck.status).toBe('idle');
    expect(keyVerified(edited)).toBe(false);
    expect(keyVerified(setKey(edited, 'k'))).toBe(false); // check state was dropped, needs re-check
  });
  it('a new spec path clears the summary', () => {
    const s = { ...initialSource(), specPath: '/a', spec: {} as never, specCheck: { status: 'ok' as const, ms: 1 } };
    expect(setSpecPath(s, '/b')).toMatchObject({ spec: null, specCheck: { status: 'idle' } });
  });
});

describe('steps', () => {
  it('skips calibration unless INT8', () => {
    expect(isStepSkipped('calibration', 'fp16')).toBe(true);
    expect(nextStep('precision', 'fp32')).toBe('output');
    expect(nextStep('precision', 'int8')).toBe('calibration');
    expect(prevStep('output', 'fp16')).toBe('precision');
    expect(prevStep('model', 'int8')).toBe('model');
    expect(nextStep('results', 'int8')).toBe('results');
  });
});

describe('theme', () => {
  it('resolves system against the OS and toggles what is shown', () => {
    expect(resolveTheme('system', true)).toBe('dark');
    expect(resolveTheme('light', true)).toBe('light');
    expect(toggledTheme('system', true)).toBe('light');
    expect(toggledTheme('light', true)).toBe('dark');
  });
});
