// Issue 12, "any ONNX model": a spec-less ONNX with a dynamic input ([N, 3, ?, ?], and Mask R-CNN's
// batchless [3, ?, ?]) exported to INT8 with a DeepStream config from the UI alone — the input
// size and preprocessing set on the Spec step, real calibration, real files checked on disk.
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeDynamicModel } from '../fixtures/models.js';
import { shot } from '../fixtures/shot.js';
import { expect, listAll, test } from '../fixtures/test.js';
import { choosePrecision, next, READ_TIMEOUT, setNumber, setOutput, setSwitch, startExport, typePath, waitForDone, expectStatus } from '../fixtures/wizard.js';

for (const variant of [
  { name: '[N, 3, ?, ?]', rank3: false, shown: '[?, 3, ?, ?]' },
  { name: 'Mask R-CNN [3, ?, ?]', rank3: true, shown: '[3, ?, ?]' },
]) {
  test(`spec-less dynamic ONNX ${variant.name} → INT8 + DeepStream config from the UI alone`, async ({ app: page, studio, outDir }) => {
    // The model sits where its outputs go: the plain ONNX copy must not take the model's own name.
    const model = path.join(outDir, 'textdet.onnx');
    await writeDynamicModel(model, { rank3: variant.rank3 });

    await typePath(page, 'model-path', model);
    await expectStatus(page, 'model-status', 'ok');
    await next(page, 'key');
    await page.getByTestId('key-input').fill('e2e-seal-key');
    await next(page, 'spec');

    // No spec: every preprocessing setting is there; the dynamic input asks for its size.
    const pp = page.getByTestId('preprocessing');
    await expect(pp).toBeVisible();
    await expect(page.getByTestId('pp-model-input')).toContainText(variant.shown);
    await expect(page.getByTestId('pp-model-input')).toContainText('dynamic height/width');
    await expect(page.getByTestId('pp-size-needed')).toBeVisible();
    for (const id of ['pp-height', 'pp-width', 'pp-mean', 'pp-scale', 'pp-order', 'pp-layout', 'pp-resize', 'preset']) await expect(page.getByTestId(id), id).toBeVisible();
    await page.getByTestId('pp-mean').fill('1 2');
    await expect(page.getByTestId('wizard-blockers')).toContainText('Mean: give three numbers');
    await page.getByTestId('pp-mean').fill('123.675, 116.28, 103.53');
    await page.getByTestId('pp-scale').fill('0.017, 0.0175, 0.0174');
    await page.getByTestId('pp-height').fill('48');
    await page.getByTestId('pp-width').fill('64');
    await expect(page.getByTestId('pp-size-needed')).toBeHidden();
    await shot(page, 'spec-less-preprocessing');
    await next(page, 'precision');

    await choosePrecision(page, 'int8');
    await next(page, 'calibration');
    // Without a spec the image folder is the source.
    await expect(page.getByTestId('cal-source-image-dir')).toBeChecked();
    await typePath(page, 'cal-image-dir', studio.sample.calImages);
    await expect(page.getByTestId('thumb-grid')).toBeVisible({ timeout: READ_TIMEOUT });
    await expect(page.getByTestId('cal-batch-size')).toHaveValue('16');
    await setNumber(page, 'cal-batches', 2);
    await setNumber(page, 'cal-batch-size', 4);
    // The tensor preview uses the typed size: 48×64, not a spec's.
    await expect(page.getByTestId('tensor-preview-stats')).toContainText('48×64', { timeout: READ_TIMEOUT });
    await next(page, 'output');

    const etlt = path.join(outDir, 'textdet.etlt');
    await setOutput(page, etlt);
    await setSwitch(page, 'output-fidelity', false);
    await expect(page.getByTestId('output-etlt').locator('xpath=../..')).toContainText('textdet.deepstream.onnx (plain, unencrypted ONNX');
    await next(page, 'review');

    await expect(page.getByTestId('review-problems')).toHaveCount(0);
    const cmd = page.getByTestId('review-command');
    await expect(cmd).toContainText('--input_size 48x64');
    await expect(cmd).toContainText('--mean 123.675,116.28,103.53');
    await expect(cmd).toContainText('--no_fidelity');
    await expect(cmd).toContainText('-k "$EXPORT_STUDIO_KEY"');
    await expect(page.getByTestId('review-outputs')).toContainText(path.join(outDir, 'nvinfer_config.txt'));
    await shot(page, 'review');
    await startExport(page);
    await waitForDone(page);
    await shot(page, 'done');

    expect(await listAll(outDir)).toEqual(['cal.bin', 'cal.bin.json', 'cal.calibration.json', 'labels.txt', 'nvinfer_config.txt', 'textdet.deepstream.onnx', 'textdet.etlt', 'textdet.onnx', 'textdet.qdq.onnx']);
    const ds = await fs.readFile(path.join(outDir, 'nvinfer_config.txt'), 'utf8');
    expect(ds).toMatch(/infer-dims=3;48;64/);
    expect(ds).toMatch(/network-mode=1/);
    expect(ds).toContain('textdet.deepstream.onnx');
    expect(ds).toContain('cal.bin');
    const cache = await fs.readFile(path.join(outDir, 'cal.bin'), 'utf8');
    expect(cache.split('\n')[0]).toMatch(/^TRT-\d+-EntropyCalibration2$/);
    expect(cache.split('\n').length).toBeGreaterThan(5);
  });
}
