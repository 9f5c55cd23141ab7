import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedPreprocessing } from '../data/types.js';
import { writeCalibrationCache } from './cache.js';
import { buildProvenance, compareProvenance, dataSelectionDigest, decideCacheReuse, parseProvenance, serializeProvenance, statSelection, type ProvenanceInput } from './provenance.js';

const pre: ResolvedPreprocessing = { height: 832, width: 1344, mean: [123.675, 116.28, 103.53], scale: [0.017507, 0.017507, 0.017507], order: 'rgb', layout: 'nchw', resize: 'keep-aspect-pad', origin: 'spec' };

function input(over: Partial<ProvenanceInput> = {}): ProvenanceInput {
  return {
    tool: { name: 'export-studio', version: '0.1.0' },
    trtVersion: '8.6.1',
    algorithm: 'entropy',
    percentile: 99.99,
    bins: 2048,
    statistics: 'sampled',
    sampleTarget: 32768,
    model: Uint8Array.of(1, 2, 3),
    preprocessing: pre,
    data: { items: [{ id: 'a.jpg', size: 10, mtimeMs: 1000 }, { id: 'b.jpg', size: 20, mtimeMs: 2000 }], source: 'image-dir /data' },
    batches: 1,
    batchSize: 2,
    seed: 42,
    samplesUsed: 2,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    ...over,
  };
}

describe('provenance', () => {
  it('round-trips through JSON and matches itself', () => {
    const p = buildProvenance(input());
    expect(p.target.header).toBe('TRT-8601-EntropyCalibration2');
    expect(p.model.sha256).toBe('039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81');
    const back = parseProvenance(serializeProvenance(p));
    expect('provenance' in back && back.provenance).toEqual(p);
    expect(compareProvenance(p, buildProvenance(input({ createdAt: new Date() })))).toEqual({ match: true, reasons: [] });
  });

  it('names every difference that changes the scales', () => {
    const a = buildProvenance(input());
    const b = buildProvenance(
      input({
        model: Uint8Array.of(9),
        algorithm: 'minmax',
        trtVersion: '10.3.0',
        preprocessing: { ...pre, resize: 'stretch', origin: 'other' },
        data: { items: [{ id: 'a.jpg', size: 11, mtimeMs: 1000 }], source: 'image-dir /data' },
        seed: 7,
      }),
    );
    const c = compareProvenance(a, b);
    expect(c.match).toBe(false);
    expect(c.reasons).toEqual([
      expect.stringMatching(/^model changed \(sha256 039058c6f2c0… → [0-9a-f]{12}…\)$/),
      'algorithm entropy → minmax',
      'target TensorRT 8.6.1 → 10.3.0',
      'cache header TRT-8601-EntropyCalibration2 → TRT-100300-EntropyCalibration2',
      expect.stringMatching(/^preprocessing changed \(.*keep-aspect-pad → .*stretch\)$/),
      expect.stringMatching(/^calibration data changed \(2 items .* → 1 items/),
      'seed 42 → 7',
    ]);
    // origin alone does not change what the model sees
    expect(compareProvenance(a, buildProvenance(input({ preprocessing: { ...pre, origin: 'preset' } }))).match).toBe(true);
  });

  it('digests the ordered selection with sizes and mtimes', async () => {
    const items = [{ id: 'a', size: 1, mtimeMs: 5 }, { id: 'b', size: 2, mtimeMs: 6 }];
    expect(dataSelectionDigest(items)).not.toBe(dataSelectionDigest([...items].reverse()));
    expect(dataSelectionDigest(items)).not.toBe(dataSelectionDigest([items[0]!, { ...items[1]!, mtimeMs: 7 }]));
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'prov-'));
    try {
      const f = path.join(dir, 'x.tfrecord');
      await fs.writeFile(f, 'abcd');
      const st = await statSelection([`${f}#0`, `${f}#1`, path.join(dir, 'missing.jpg')]);
      expect(st.map((s) => s.size)).toEqual([4, 4, -1]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('decides reuse only for a valid cache with matching provenance', () => {
    const wanted = buildProvenance(input());
    const cache = writeCalibrationCache({ trtVersion: '8.6.1', algorithm: 'entropy', entries: [{ name: 'input', scale: 0.01 }] });
    const prov = serializeProvenance(wanted);
    expect(decideCacheReuse({ reuse: 'auto', cacheText: cache, provenanceText: prov, wanted })).toMatchObject({ reuse: true });
    expect(decideCacheReuse({ reuse: 'never', cacheText: cache, provenanceText: prov, wanted }).reuse).toBe(false);
    expect(decideCacheReuse({ reuse: 'auto', cacheText: null, provenanceText: null, wanted }).reason).toMatch(/no existing cache/);
    expect(decideCacheReuse({ reuse: 'auto', cacheText: cache, provenanceText: null, wanted }).reason).toMatch(/no provenance/);
    expect(decideCacheReuse({ reuse: 'auto', cacheText: 'garbage', provenanceText: prov, wanted }).reason).toMatch(/not valid/);
    expect(decideCacheReuse({ reuse: 'auto', cacheText: cache, provenanceText: '{}', wanted }).reason).toMatch(/not an export-studio provenance/);
    // A cache written with the old MinMaxCalibration header is not reused: consumers would recalibrate.
    const oldMinmax = cache.replace('EntropyCalibration2', 'MinMaxCalibration');
    expect(decideCacheReuse({ reuse: 'auto', cacheText: oldMinmax, provenanceText: prov, wanted }).reason).toMatch(/header TRT-8601-MinMaxCalibration ≠ wanted TRT-8601-EntropyCalibration2/);
    const kept = buildProvenance(input({ floatTensors: ['conv1'] }));
    expect(decideCacheReuse({ reuse: 'auto', cacheText: cache, provenanceText: prov, wanted: kept }).reason).toBe('recalibrating: tensors kept in float none → conv1');
    const other = buildProvenance(input({ seed: 1 }));
    expect(decideCacheReuse({ reuse: 'auto', cacheText: cache, provenanceText: prov, wanted: other }).reason).toBe('recalibrating: seed 42 → 1');
  });
});
