// Errors the wizard must explain in place: a wrong key (with the hint, nothing written) and a
// broken experiment spec (file:line:column and the caret excerpt).
import fs from 'node:fs/promises';
import path from 'node:path';
import { shot } from '../fixtures/shot.js';
import { expect, test } from '../fixtures/test.js';
import { enterKey, expectStatus, next, openModel, openSpec } from '../fixtures/wizard.js';

/** Every file under `dir` with its size and mtime, to prove nothing was written there. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    const st = await fs.stat(p);
    out.push(`${path.relative(dir, p)} ${e.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
  }
  return out.sort();
}

test('a wrong key: the error says so with the hint, Next stays blocked, nothing is written', async ({ app: page, studio }) => {
  const s = studio.sample;
  // The default outputs would go beside the model: watch that folder.
  const before = await snapshot(s.dir);
  await openModel(page, s.tlt);
  await next(page, 'key');
  const wrongKey = studio.key.toUpperCase(); // keys are byte-exact: the right one in capitals
  await enterKey(page, wrongKey, 'error');
  const alert = page.getByTestId('error-alert');
  await expect(alert).toHaveAttribute('data-code', 'E_WRONG_KEY_OR_CORRUPT');
  await expect(alert).toContainText('Wrong key or corrupt model');
  await expect(alert).toContainText('model.tlt');
  await expect(page.getByTestId('error-hint')).toContainText('keys are case-sensitive');
  await expect(page.getByTestId('wizard-next')).toBeDisabled();
  await expect(page.getByTestId('model-card')).toBeHidden();
  await shot(page, 'key-wrong');
  // Nothing was written, and the key that was tried is not in the settings either.
  expect(await snapshot(s.dir)).toEqual(before);
  const settings = await fs.readFile(path.join(studio.home, '.config/export-studio/settings.json'), 'utf8').catch(() => '');
  expect(settings).not.toContain(wrongKey);
  expect(settings).not.toContain(studio.key);

  // The right key recovers without reloading.
  await enterKey(page, studio.key, 'ok');
  await expect(page.getByTestId('error-alert')).toBeHidden();
  await expect(page.getByTestId('wizard-next')).toBeEnabled();
  await shot(page, 'key-fixed');
});

const BROKEN: { name: string; from: string; to: string; code: string; hint: RegExp; col: (line: string) => number }[] = [
  {
    name: 'an unknown field',
    from: '    num_classes: 5',
    to: '    num_clases: 5',
    code: 'E_SPEC_UNKNOWN_FIELD',
    hint: /did you mean 'num_classes'/i,
    col: (line) => line.indexOf('num_clases') + 1,
  },
  {
    name: 'an unterminated string',
    from: '    arch: "resnet"',
    to: '    arch: "resnet',
    code: 'E_SPEC_SYNTAX',
    hint: /close the string/i,
    col: (line) => line.indexOf('"') + 1,
  },
];

for (const b of BROKEN) {
  test(`a broken spec (${b.name}): file:line:column and the caret excerpt`, async ({ app: page, studio, outDir }) => {
    const s = studio.sample;
    const good = await fs.readFile(s.spec, 'utf8');
    expect(good, 'the sample spec has the line this test breaks').toContain(b.from);
    const text = good.replace(b.from, b.to);
    const lines = text.split('\n');
    const lineNo = lines.findIndex((l) => l === b.to) + 1;
    const col = b.col(b.to);
    const file = path.join(outDir, 'broken_spec.txt');
    await fs.writeFile(file, text);

    await openModel(page, s.tlt);
    await next(page, 'key');
    await enterKey(page, studio.key);
    await next(page, 'spec');
    await openSpec(page, file, 'error');
    const alert = page.getByTestId('error-alert');
    await expect(alert).toHaveAttribute('data-code', b.code);
    await expect(page.getByTestId('error-location')).toHaveText(`${file}:${lineNo}:${col}`);
    const excerpt = page.getByTestId('error-excerpt');
    await expect(excerpt).toContainText(b.to.trim());
    // The caret sits under the column: same offset after the "NN | " gutter.
    const ex = (await excerpt.innerText()).split('\n');
    const srcLine = ex.find((l) => l.endsWith(b.to));
    const caretLine = ex.find((l) => /^\s*\|\s*\^\s*$/.test(l));
    expect(srcLine, `excerpt has the source line:\n${ex.join('\n')}`).toBeDefined();
    expect(caretLine, `excerpt has a caret line:\n${ex.join('\n')}`).toBeDefined();
    expect(caretLine?.indexOf('^')).toBe((srcLine?.length ?? 0) - b.to.length + col - 1);
    await expect(page.getByTestId('error-hint')).toContainText(b.hint);
    await expect(page.getByTestId('wizard-next')).toBeDisabled();
    await shot(page, `spec-error-${b.code}`);

    // Fixing the file and committing the path again clears the error.
    await fs.writeFile(file, good.replace(/"tfrecords\//g, `"${s.tfrecords}/`).replace('"annotations/', `"${s.dir}/annotations/`));
    await page.getByTestId('spec-path').fill('');
    await page.getByTestId('spec-path').press('Enter');
    await openSpec(page, file, 'ok');
    await expectStatus(page, 'spec-status', 'ok');
    await expect(page.getByTestId('error-alert')).toBeHidden();
    await expect(page.getByTestId('spec-summary')).toContainText('320 × 512');
  });
}
