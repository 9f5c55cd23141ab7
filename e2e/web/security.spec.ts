// Security smoke for web mode: nothing is served without the session token, and the model key
// never lands in Web Storage, cookies, the settings file or the server's output.
import fs from 'node:fs/promises';
import path from 'node:path';
import { shot } from '../fixtures/shot.js';
import { expect, test } from '../fixtures/test.js';
import { fp32ToReview, webStorageDump } from '../fixtures/wizard.js';

test('without the token: the page and the API answer 401', async ({ browser, studio }) => {
  // A fresh context: no cookie from an earlier visit.
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const res = await page.goto(`${studio.origin}/`);
    expect(res?.status()).toBe(401);
    await expect(page.getByTestId('app')).toHaveCount(0);
    await shot(page, 'no-token-401');
    const wrong = await page.goto(`${studio.origin}/?token=${'A'.repeat(studio.token.length)}`);
    expect(wrong?.status()).toBe(401);

    const api = context.request;
    const body = { args: [] };
    expect((await api.post(`${studio.origin}/api/info`, { data: body })).status()).toBe(401);
    expect((await api.post(`${studio.origin}/api/info`, { data: body, headers: { 'x-studio-token': 'wrong' } })).status()).toBe(401);
    // The same call with the token works, so the 401s above are the token check.
    const ok = await api.post(`${studio.origin}/api/info`, { data: body, headers: { 'x-studio-token': studio.token } });
    expect(ok.status()).toBe(200);
    expect(((await ok.json()) as { ok: boolean }).ok).toBe(true);
    // Reading a file by path through the browse API stays inside the allowed roots.
    const etc = await api.post(`${studio.origin}/api/browse`, { data: { args: ['/etc', 'spec'] }, headers: { 'x-studio-token': studio.token } });
    expect(((await etc.json()) as { ok: boolean }).ok).toBe(false);
  } finally {
    await context.close();
  }
});

test('the key never reaches Web Storage, cookies, settings or the server log', async ({ app: page, context, studio, outDir }) => {
  const s = studio.sample;
  await fp32ToReview(page, { model: s.tlt, key: studio.key, spec: s.spec }, path.join(outDir, 'model.etlt'));
  await expect(page.getByTestId('review-command')).toContainText('-k "$EXPORT_STUDIO_KEY"');
  await shot(page, 'review-masked');

  const storage = await webStorageDump(page);
  expect(storage).not.toContain(studio.key);
  // The session token is kept for reloads in sessionStorage (by design), never in localStorage.
  const parsed = JSON.parse(storage) as { local: Record<string, string>; session: Record<string, string> };
  expect(JSON.stringify(parsed.local)).not.toContain(studio.token);
  for (const c of await context.cookies()) expect(`${c.name}=${c.value}`).not.toContain(studio.key);
  // A reload keeps the session (token from sessionStorage / the HttpOnly cookie) and the wizard's
  // choices (issue 12: the page comes back at Review with the model), never the key.
  await page.reload();
  await expect(page.getByTestId('step-review')).toBeVisible();
  await page.getByTestId('stepper-model').click();
  await expect(page.getByTestId('model-path')).toHaveValue(s.tlt);
  await page.getByTestId('stepper-key').click();
  await expect(page.getByTestId('key-input')).toHaveValue('');
  expect(await webStorageDump(page)).not.toContain(studio.key);

  const settings = await fs.readFile(path.join(studio.home, '.config/export-studio/settings.json'), 'utf8');
  expect(settings).toContain('model.tlt'); // the recent-files list was written
  expect(settings).not.toContain(studio.key);
  // Everything the server and its workers printed so far (this and earlier specs' exports).
  expect(await fs.readFile(studio.logFile, 'utf8')).not.toContain(studio.key);
});
