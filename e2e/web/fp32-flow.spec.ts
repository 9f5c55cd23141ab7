// The whole wizard, FP32 with the DeepStream config, against the real server and pipeline:
// Browse for the model, spec and output folder, check the key, review the masked command, run,
// and compare the Results table with the files on disk.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { formatBytes } from '../../shared/format.js';
import { SAMPLE_RECORDS } from '../fixtures/env.js';
import { CLI } from '../fixtures/server.js';
import { shot } from '../fixtures/shot.js';
import { expect, listAll, test } from '../fixtures/test.js';
import { choosePrecision, enterKey, expectStatus, expectStep, next, setSwitch, startExport, step, waitForDevices, waitForDone, webStorageDump } from '../fixtures/wizard.js';

const run = promisify(execFile);

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

test('FP32 export with a DeepStream config, from Browse to the files on disk', async ({ app: page, studio, outDir }) => {
  const s = studio.sample;

  // Model: Browse from the server's home into sample/ and pick the sealed model.
  await shot(page, 'model-empty');
  await page.getByTestId('model-path-browse').click();
  const dialog = page.getByTestId('file-browser');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('file-browser-path')).toHaveText(path.basename(studio.home));
  await dialog.getByTestId('file-entry-sample').click();
  await expect(dialog.getByTestId('file-browser-path')).toHaveText('sample');
  await shot(page, 'model-browse-dialog');
  await dialog.getByTestId('file-entry-model.tlt').click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('model-path')).toHaveValue(s.tlt);
  await expectStatus(page, 'model-status', 'ok');
  await expect(page.getByTestId('model-encrypted')).toBeVisible();
  await shot(page, 'model-encrypted');

  // Key: masked while typed, checked against the model on Enter.
  await next(page, 'key');
  await expect(page.getByTestId('key-input')).toHaveAttribute('type', 'password');
  await enterKey(page, studio.key);
  await expect(page.getByTestId('model-card')).toBeVisible();
  await shot(page, 'key-ok');

  // Spec: Browse starts in the model's folder.
  await next(page, 'spec');
  await page.getByTestId('spec-path-browse').click();
  await expect(dialog.getByTestId('file-browser-path')).toHaveText('sample');
  await dialog.getByTestId('file-entry-spec.txt').click();
  await expect(page.getByTestId('spec-path')).toHaveValue(s.spec);
  await expectStatus(page, 'spec-status', 'ok');
  const summary = page.getByTestId('spec-summary');
  await expect(summary).toContainText('320 × 512');
  await expect(summary).toContainText(`${SAMPLE_RECORDS} records`);
  await expect(page.getByTestId('spec-files').getByRole('row')).toHaveCount(1 + 3); // header + 3 shards
  await shot(page, 'spec-ok');

  // Precision: FP32 skips the Calibration step.
  await next(page, 'precision');
  await choosePrecision(page, 'fp32');
  await shot(page, 'precision-fp32');
  await next(page, 'output');

  // Output: Browse to the fresh folder, keep the model's file name.
  await page.getByTestId('output-etlt-browse').click();
  await expect(dialog.getByTestId('file-browser-path')).toHaveText('sample');
  await dialog.getByTestId('file-browser-up').click();
  await dialog.getByTestId(`file-entry-${path.basename(outDir)}`).click();
  await expect(dialog.getByTestId('file-browser-path')).toHaveText(path.basename(outDir));
  await dialog.getByTestId('file-browser-choose-folder').click();
  await expect(dialog).toBeHidden();
  const etlt = path.join(outDir, 'model.etlt');
  await expect(page.getByTestId('output-etlt')).toHaveValue(etlt);
  // The DeepStream switch drives what the field's helper text promises.
  // (the .etlt field's helper text: the first one on the step)
  const helper = step(page, 'output').locator('.MuiFormHelperText-root').first();
  await setSwitch(page, 'output-ds-config', false);
  await expect(helper).toHaveText('Only the .etlt is written.');
  await setSwitch(page, 'output-ds-config', true);
  await expect(helper).toContainText(`Also written in ${outDir}: model.onnx (plain, unencrypted ONNX`);
  await expect(helper).toContainText('nvinfer_config.txt, labels.txt');
  // Deployment target: the TensorRT of the DeepStream release, and where its parser library is.
  await expect(page.getByTestId('output-trt-version')).toContainText('TensorRT 10.16.0 (DeepStream 9.2 (x86 dGPU))');
  await page.getByTestId('output-trt-version').getByRole('combobox').click();
  await page.getByRole('option', { name: 'TensorRT 10.3.0 (DeepStream 7.1)' }).click();
  await expect(page.getByTestId('output-trt-version')).toContainText('TensorRT 10.3.0');
  const parserLib = '/srv/deepstream_tao_apps/post_processor/libnvds_infercustomparser_tao.so';
  await page.getByTestId('output-ds-custom-lib').fill(parserLib);
  await waitForDevices(page);
  await shot(page, 'output');

  // Review: the equivalent command, key masked; the key is nowhere in the page.
  await next(page, 'review');
  const command = page.getByTestId('review-command');
  await expect(command).toContainText('--gen_ds_config');
  await expect(command).toContainText('--trt_version 10.3.0');
  await expect(command).toContainText(`--ds_custom_lib ${parserLib}`);
  await expect(command).toContainText(s.tlt);
  await expect(command).toContainText(etlt);
  await expect(command).toContainText('-k "$EXPORT_STUDIO_KEY"');
  await expect(page.getByTestId('review-summary')).toContainText('FP32');
  expect(await page.locator('body').innerText()).not.toContain(studio.key);
  expect(await page.content()).not.toContain(studio.key);
  await shot(page, 'review');

  // Run.
  await startExport(page);
  await shot(page, 'run-started');
  await waitForDone(page);
  // FP32 never calibrates: the pipeline announces a step that does not apply as skipped.
  await expect(page.getByTestId('stage-calibrate')).toHaveAttribute('data-status', 'skipped');
  await expect(page.getByTestId('stage-write')).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('stage-deepstream')).toHaveAttribute('data-status', 'done');
  await shot(page, 'run-done');
  await page.getByTestId('run-results').click();
  await expectStep(page, 'results');
  await shot(page, 'results');

  // Results: one row per file, with its size and sha256 as on disk.
  const expected = {
    etlt: etlt,
    onnx: path.join(outDir, 'model.onnx'),
    'ds-config': path.join(outDir, 'nvinfer_config.txt'),
    labels: path.join(outDir, 'labels.txt'),
  };
  const table = page.getByTestId('result-artifacts');
  for (const [role, file] of Object.entries(expected)) {
    const row = table.locator(`[data-role="${role}"]`);
    await expect(row, `a Results row for ${role}`).toHaveCount(1);
    const st = await fs.stat(file);
    await expect(row).toContainText(file);
    await expect(row).toContainText(formatBytes(st.size));
    await expect(row).toContainText((await sha256(file)).slice(0, 12));
  }

  // The files are real: .etlt = 4-byte header (N = 0: ONNX payload) + 16-byte nonce + the
  // sealed ONNX, and unsealing it with the key gives back the plain .onnx written beside it.
  const etltBytes = await fs.readFile(expected.etlt);
  const onnxBytes = await fs.readFile(expected.onnx);
  expect(etltBytes.readInt32LE(0)).toBe(0);
  expect(etltBytes.length).toBe(onnxBytes.length + 20);
  const unsealed = path.join(studio.root, `unsealed-${path.basename(outDir)}.onnx`);
  await run(process.execPath, [CLI, 'unseal', '-m', expected.etlt, '-o', unsealed], { env: { ...process.env, EXPORT_STUDIO_KEY: studio.key } });
  expect((await fs.readFile(unsealed)).equals(onnxBytes), 'the .etlt decrypts to the written .onnx').toBe(true);
  const ds = await fs.readFile(expected['ds-config'], 'utf8');
  expect(ds).toContain('[property]');
  expect(ds).toMatch(/^onnx-file=model\.onnx$/m);
  expect(ds).toMatch(/^labelfile-path=labels\.txt$/m);
  expect(ds).toMatch(/^network-mode=0$/m); // FP32
  expect(ds).toMatch(/^num-detected-classes=5$/m);
  expect(ds).toContain(`\ncustom-lib-path=${parserLib}\n`);
  expect(ds).not.toContain(studio.key);
  expect((await fs.readFile(expected.labels, 'utf8')).split('\n')[0]).toBe('BG');
  // Nothing half-written or hidden next to them.
  for (const name of await listAll(outDir)) expect(name, `unexpected leftover ${name}`).not.toMatch(/^\.|\.tmp|\.lock|\.partial/);

  // The key never went to Web Storage.
  expect(await webStorageDump(page)).not.toContain(studio.key);
});
