import { ERROR_CODES } from '../../../shared/errors.js';
import type { StudioClient } from '../api/client.js';
import { useImagesStore } from '../store/images.js';
import { useJobStore } from '../store/job.js';
import { useOptionsStore } from '../store/options.js';
import { buildRequest } from '../store/request.js';
import { needsKey, setKey, setModelPath, setSpecPath, useSourceStore } from '../store/source.js';
import { useWizardStore } from '../store/wizard.js';
import { dirname } from '../store/paths.js';
import { useFidelityOption } from './FidelityPanel.js';

/** The wizard's I/O: each action calls the API and folds the answer into the stores. */

export async function openModel(client: StudioClient, rawPath: string, opts: { canStoreKeys: boolean } = { canStoreKeys: false }): Promise<void> {
  const path = rawPath.trim();
  const src = useSourceStore.getState();
  src.update((s) => setModelPath(s, path));
  if (!path) return;
  useSourceStore.getState().patch({ modelCheck: { status: 'checking' } });
  const t0 = performance.now();
  const r = await client.api.inspectModel(path, '');
  if (useSourceStore.getState().modelPath !== path) return; // superseded by a newer pick
  const ms = Math.round(performance.now() - t0);
  if (r.ok) {
    useSourceStore.getState().patch({ model: r.value, modelCheck: { status: 'ok', ms } });
  } else if (needsKey(path) && ERROR_CODES[r.error.code] === 'key') {
    // Encrypted: the file is there; the model card comes after the key check.
    useSourceStore.getState().patch({ modelCheck: { status: 'ok', ms } });
  } else {
    useSourceStore.getState().patch({ modelCheck: { status: 'error', error: r.error } });
    return;
  }
  // Recent models are models that opened: plain ONNX now, an encrypted one once its key checks
  // out (a file that only looks like a .tlt never gets into the list).
  if (!needsKey(path)) void client.api.addRecentFile({ path, kind: 'model' });
  if (needsKey(path) && opts.canStoreKeys) {
    const k = await client.api.loadKey(path);
    if (k.ok && k.value && useSourceStore.getState().modelPath === path && useSourceStore.getState().key === '') {
      useSourceStore.getState().update((s) => ({ ...setKey(s, k.value ?? ''), rememberKey: true }));
      void checkKey(client);
    }
  }
}

/** The check in flight, so blur + Enter + Next on the same key make one call. */
let inFlight: { path: string; key: string; done: Promise<void> } | null = null;

export function checkKey(client: StudioClient): Promise<void> {
  const { modelPath, key } = useSourceStore.getState();
  if (inFlight && inFlight.path === modelPath && inFlight.key === key) return inFlight.done;
  const done = runKeyCheck(client).finally(() => {
    if (inFlight?.done === done) inFlight = null;
  });
  inFlight = { path: modelPath, key, done };
  return done;
}

async function runKeyCheck(client: StudioClient): Promise<void> {
  const { modelPath, key } = useSourceStore.getState();
  if (!modelPath || !needsKey(modelPath)) return;
  if (key === '') {
    useSourceStore.getState().patch({ keyCheck: { status: 'idle' }, checkedKey: null });
    return;
  }
  useSourceStore.getState().patch({ keyCheck: { status: 'checking' } });
  const t0 = performance.now();
  const r = await client.api.inspectModel(modelPath, key);
  const now = useSourceStore.getState();
  if (now.key !== key || now.modelPath !== modelPath) return;
  const ms = Math.round(performance.now() - t0);
  if (r.ok) {
    useSourceStore.getState().patch({ model: r.value, keyCheck: { status: 'ok', ms }, checkedKey: key });
    void client.api.addRecentFile({ path: modelPath, kind: 'model' });
  }
  else useSourceStore.getState().patch({ model: null, keyCheck: { status: 'error', error: r.error }, checkedKey: key });
}

export async function openSpec(client: StudioClient, rawPath: string): Promise<void> {
  const path = rawPath.trim();
  useSourceStore.getState().update((s) => setSpecPath(s, path));
  if (!path) return;
  useSourceStore.getState().patch({ specCheck: { status: 'checking' } });
  const t0 = performance.now();
  const r = await client.api.parseSpec(path);
  if (useSourceStore.getState().specPath !== path) return;
  const ms = Math.round(performance.now() - t0);
  if (r.ok) {
    useSourceStore.getState().patch({ spec: r.value, specCheck: { status: 'ok', ms } });
    void client.api.addRecentFile({ path, kind: 'spec' });
  } else useSourceStore.getState().patch({ spec: null, specCheck: { status: 'error', error: r.error } });
}

export async function loadImages(client: StudioClient, rawDir: string): Promise<void> {
  const dir = rawDir.trim();
  useOptionsStore.getState().setCalibration({ imageDir: dir });
  if (!dir) {
    useImagesStore.getState().reset();
    return;
  }
  useImagesStore.getState().patch({ loading: true, error: null });
  const r = await client.api.listImages(dir);
  if (useOptionsStore.getState().calibration.imageDir !== dir) return;
  if (r.ok) {
    useImagesStore.getState().loaded(r.value.dir, r.value.images);
    void client.api.addRecentFile({ path: dir, kind: 'images-dir' });
  } else useImagesStore.getState().patch({ loading: false, error: r.error, images: [], dir });
}

export async function startExport(client: StudioClient, opts: { canStoreKeys: boolean }): Promise<void> {
  const source = useSourceStore.getState();
  const request = buildRequest(source, useOptionsStore.getState(), useImagesStore.getState(), { enabled: useFidelityOption.getState().enabled });
  if (opts.canStoreKeys && source.rememberKey && needsKey(source.modelPath) && source.key) {
    // Best effort: a refused keyring (plain-text backend) must not block the export.
    void client.api.storeKey(source.modelPath, source.key);
  }
  // Remembered for next time (never the key).
  void client.api.setSettings({
    lastGpu: request.gpu ?? 0,
    lastOutputDir: dirname(request.outputs.etlt),
    ...(request.trtVersion ? { trtVersion: request.trtVersion } : {}),
    ...(request.outputs.dsCustomLib ? { dsCustomLib: request.outputs.dsCustomLib } : {}),
  });
  useJobStore.getState().starting();
  useWizardStore.getState().goto('run');
  const r = await client.api.startExport(request);
  if (r.ok) useJobStore.getState().begin(r.value.jobId);
  else useJobStore.getState().fail(r.error);
}

export async function cancelExport(client: StudioClient): Promise<void> {
  const id = useJobStore.getState().jobId;
  if (id) await client.api.cancelJob(id);
}
