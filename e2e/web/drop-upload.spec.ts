// Issue 12, "drag-and-drop in web mode": a drop is an upload into a workspace folder on the server
// (inside the browsable roots), then opened from there — a model on the Model step, a spec on the
// Spec step, images on the Calibration step. A .txt dropped as a model is "not a model".
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { shot } from '../fixtures/shot.js';
import { expect, test } from '../fixtures/test.js';
import { choosePrecision, expectStatus, next, READ_TIMEOUT } from '../fixtures/wizard.js';

interface DropFile {
  name: string;
  b64: string;
  type: string;
}

async function fileOf(p: string, name = path.basename(p), type = 'application/octet-stream'): Promise<DropFile> {
  return { name, b64: (await fs.readFile(p)).toString('base64'), type };
}

/** A real drop as the browser fires it: dragenter, dragover, drop with a DataTransfer of Files. */
async function drop(page: Page, files: DropFile[]): Promise<void> {
  await page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
    for (const type of ['dragenter', 'dragover', 'drop']) document.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
}

test('a dropped model, spec and images are uploaded to the server and opened; a .txt is not a model', async ({ app: page, studio }) => {
  const s = studio.sample;
  const uploads = path.join(studio.home, 'export-studio-uploads');

  await drop(page, [{ name: 'notes.txt', b64: Buffer.from('hello').toString('base64'), type: 'text/plain' }]);
  await expect(page.getByTestId('drop-message')).toContainText('“notes.txt” is not a model (.onnx, .etlt or .tlt).');
  await page.getByTestId('drop-message').getByRole('button').click();

  await drop(page, [await fileOf(s.onnx, 'dropped-model.onnx')]);
  await expectStatus(page, 'model-status', 'ok');
  const modelPath = await page.getByTestId('model-path').inputValue();
  expect(modelPath.startsWith(uploads + path.sep)).toBe(true);
  expect(path.basename(modelPath)).toBe('dropped-model.onnx');
  // The server holds the same bytes, and nothing half-written beside it.
  expect((await fs.readFile(modelPath)).equals(await fs.readFile(s.onnx))).toBe(true);
  expect((await fs.readdir(path.dirname(modelPath))).filter((f) => f.startsWith('.'))).toEqual([]);
  await shot(page, 'model-uploaded');

  await next(page, 'key');
  await page.getByTestId('key-input').fill('e2e-seal-key');
  await next(page, 'spec');
  await drop(page, [await fileOf(s.spec, 'dropped-spec.txt', 'text/plain')]);
  await expectStatus(page, 'spec-status', 'ok');
  expect(path.dirname(await page.getByTestId('spec-path').inputValue())).toBe(path.dirname(modelPath));
  await next(page, 'precision');
  await choosePrecision(page, 'int8');
  await next(page, 'calibration');

  const images = (await fs.readdir(s.calImages)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().slice(0, 5);
  await drop(page, await Promise.all(images.map((f) => fileOf(path.join(s.calImages, f), f, 'image/jpeg'))));
  await expect(page.getByTestId('cal-source-image-dir')).toBeChecked();
  await expect(page.getByTestId('selection-count')).toContainText('5 selected of 5', { timeout: READ_TIMEOUT });
  const dir = await page.getByTestId('cal-image-dir').inputValue();
  expect(dir).toBe(path.join(path.dirname(modelPath), 'dropped-images'));
  expect((await fs.readdir(dir)).sort()).toEqual(images);
  await shot(page, 'images-uploaded');

  // Dropping the same model again does not replace the uploaded file: the server says it exists.
  await page.getByTestId('stepper-model').click();
  await drop(page, [await fileOf(s.onnx, 'dropped-model.onnx')]);
  await expect(page.getByTestId('drop-message')).toContainText('already exists on the server');
});

test('uploads stay inside the browsable roots and need the token', async ({ app: page, studio }) => {
  const put = (dir: string, headers: Record<string, string>) => page.request.put(`${studio.origin}/upload?${new URLSearchParams({ dir, name: 'x.onnx' }).toString()}`, { data: Buffer.from('abc'), headers });
  const outside = await put('/etc/export-studio-test', { 'x-studio-token': studio.token });
  expect(((await outside.json()) as { ok: boolean; error: { message: string } }).error.message).toMatch(/outside the folders/);
  await expect(fs.stat('/etc/export-studio-test')).rejects.toThrow();
  const noToken = await put(path.join(studio.home, 'up'), {});
  expect(noToken.status()).toBe(401);
  const sneaky = await page.request.put(`${studio.origin}/upload?${new URLSearchParams({ dir: path.join(studio.home, 'up'), name: '../escape.onnx' }).toString()}`, { data: Buffer.from('abc'), headers: { 'x-studio-token': studio.token } });
  expect(sneaky.status()).toBe(400);
  await expect(fs.stat(path.join(studio.home, 'escape.onnx'))).rejects.toThrow();
});
