// Issue 12, "the command you can paste": Review's command, taken from the clipboard after the
// Copy button, runs as pasted in a shell (key from "$EXPORT_STUDIO_KEY") and writes the same
// artifacts as the app's own export of the same settings.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI } from '../fixtures/server.js';
import { shot } from '../fixtures/shot.js';
import { expect, listAll, test } from '../fixtures/test.js';
import { choosePrecision, next, READ_TIMEOUT, setNumber, setOutput, setSwitch, startExport, throughSpec, waitForDone } from '../fixtures/wizard.js';

const run = promisify(execFile);

test('the copied command runs as pasted in a shell and writes the same artifacts as the app', async ({ app: page, context, studio, outDir }) => {
  const s = studio.sample;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: studio.origin });
  const out = path.join(outDir, 'out');
  await fs.mkdir(out);

  // Options off their defaults, so a command that drops one is caught by the comparison.
  await throughSpec(page, { model: s.tlt, key: studio.key, spec: s.spec });
  await choosePrecision(page, 'int8');
  await next(page, 'calibration');
  await setNumber(page, 'cal-batches', 2);
  await setNumber(page, 'cal-batch-size', 3);
  await setNumber(page, 'cal-seed', 7);
  await next(page, 'output');
  await setOutput(page, path.join(out, 'model.etlt'));
  await setSwitch(page, 'output-fidelity', false);
  await setSwitch(page, 'output-report', true);
  await page.getByTestId('output-advanced-toggle').click();
  await page.getByTestId('output-max-batch').fill('4');
  await next(page, 'review');

  const cmdBox = page.getByTestId('review-command');
  await expect(cmdBox).toContainText('--cal_seed 7', { timeout: READ_TIMEOUT });
  await expect(page.getByTestId('review-command-key')).toContainText('EXPORT_STUDIO_KEY');
  await shot(page, 'review-command');
  await page.getByTestId('review-copy').click();
  const command = await page.evaluate(() => navigator.clipboard.readText());
  expect(command).toBe(await cmdBox.innerText());
  for (const flag of ['--no_fidelity', '--report_file', '--max_batch_size 4', '--batches 2 --batch_size 3', '--gen_ds_config', '-k "$EXPORT_STUDIO_KEY"']) expect(command).toContain(flag);
  expect(command).not.toContain(studio.key);

  // Paste it into bash: `export-studio` on PATH, the key in the environment, nothing else.
  const bin = path.join(outDir, 'bin');
  await fs.mkdir(bin);
  await fs.writeFile(path.join(bin, 'export-studio'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
  const shell = await run('bash', ['-c', command], { cwd: outDir, env: { PATH: `${bin}:/usr/bin:/bin`, HOME: studio.home, EXPORT_STUDIO_KEY: studio.key }, timeout: 200_000 }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`the pasted command failed: ${e.message}\n${e.stderr ?? ''}`);
  });
  expect(shell.stdout).toContain('Export finished');
  const fromShell = await listAll(out);
  const cliDir = path.join(outDir, 'from-cli');
  await fs.rename(out, cliDir);
  await fs.mkdir(out);

  // The app's own export of the same settings (outputs moved away, so no problem at Review).
  await expect(page.getByTestId('start-export')).toBeEnabled({ timeout: READ_TIMEOUT });
  await startExport(page);
  await waitForDone(page);
  expect(await listAll(out)).toEqual(fromShell);
  expect(fromShell).toEqual(expect.arrayContaining(['model.etlt', 'model.onnx', 'model.qdq.onnx', 'cal.bin', 'nvinfer_config.txt', 'labels.txt', 'model.report.json']));

  // Same bytes wherever the content is deterministic; the .etlt (random salt) decrypts to the same model.
  for (const f of fromShell) {
    if (f === 'model.etlt' || f.endsWith('.json')) continue;
    const [a, b] = await Promise.all([fs.readFile(path.join(cliDir, f)), fs.readFile(path.join(out, f))]);
    expect(a.equals(b), `${f} differs between the pasted command and the app`).toBe(true);
  }
  const env = { ...process.env, EXPORT_STUDIO_KEY: studio.key };
  await run(process.execPath, [CLI, 'unseal', '-m', path.join(cliDir, 'model.etlt'), '-o', path.join(outDir, 'a.onnx')], { env });
  await run(process.execPath, [CLI, 'unseal', '-m', path.join(out, 'model.etlt'), '-o', path.join(outDir, 'b.onnx')], { env });
  expect((await fs.readFile(path.join(outDir, 'a.onnx'))).equals(await fs.readFile(path.join(outDir, 'b.onnx')))).toBe(true);
  // The reports agree on what was done (the command included).
  const [ra, rb] = await Promise.all([fs.readFile(path.join(cliDir, 'model.report.json'), 'utf8'), fs.readFile(path.join(out, 'model.report.json'), 'utf8')]).then((x) => x.map((t) => JSON.parse(t) as { command: string; calibration: { samplesUsed: number } }));
  expect(ra?.command).toBe(rb?.command);
  expect(ra?.calibration.samplesUsed).toBe(6);
});
