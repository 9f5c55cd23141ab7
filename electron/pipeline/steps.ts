import fs from 'node:fs/promises';
import path from 'node:path';
import type { ModelSummary } from '../../shared/report.js';
import type { ExportRequest } from '../../shared/request.js';
import { StudioError } from '../../shared/errors.js';
import { formatBytes } from '../../shared/format.js';
import { mapWriteError } from './io/outputs.js';
import { checkPathCollisions, planOutputs } from './paths.js';
import { checkRegularInput } from './io/inputs.js';
import { checkSpecDataRoots, expandFilePattern } from './data/glob.js';
import { readRoots } from './io/roots.js';
import { IMAGE_EXTENSIONS } from './data/image-dir.js';
import { loadSpec } from './spec/index.js';
import { quickKeyCheck, readModel, sealToStream } from './model/index.js';
import { decodeModel, inspectModel, resolveExternalData, validateModelGraph } from './onnx/index.js';
import { nvinferConfig, buildLabels, checkConsumers, deriveDeployment, DEFAULT_CUSTOM_LIB, type DeploymentInput } from './deploy/index.js';
import { calibrateStep, quantizeStep, requestPreprocessing } from './calibrate-step.js';
import { engineStep } from './engine-step.js';
import { fidelityStep, searchStep } from './fidelity-step.js';
import { must, stageWrite, type JobState, type Step } from './job.js';

export type { JobState, ModelState, SpecState, Step } from './job.js';
export { setFloatTensors } from './job.js';

async function mustExist(file: string, code: 'E_FILE_NOT_FOUND' | 'E_SPEC_NOT_FOUND', what: string): Promise<void> {
  await checkRegularInput(file, what, code).catch((e: unknown) => {
    if (e instanceof StudioError && e.code === code && !/directory/.test(e.message)) {
      throw new StudioError(code, `${what} not found: ${file}`, `Check the path (relative paths are resolved against ${process.cwd()}).`, { file });
    }
    throw e;
  });
}

/** --results_dir is created on demand (status.json): refuse a file in its place, or a folder we cannot write, up front. */
async function preflightResultsDir(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  const st = await fs.stat(abs).catch(() => null);
  if (st && !st.isDirectory()) throw new StudioError('E_OUTPUT_WRITE', `--results_dir is a file, not a folder: ${abs}`, 'Give a folder for status.json (it is created if missing).', { file: abs });
  if (st) await fs.access(abs, fs.constants.W_OK).catch((e: unknown) => Promise.reject(mapWriteError(e, path.join(abs, 'status.json'))));
}

/** The images of --cal_image_dir (top level, as calibration lists them): inputs no output may replace. */
async function imageDirInputs(r: ExportRequest): Promise<{ role: string; file: string }[]> {
  const dir = r.precision === 'int8' && r.calibration?.source === 'image-dir' ? r.calibration.imageDir : undefined;
  if (!dir) return [];
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => IMAGE_EXTENSIONS.includes(path.extname(n).toLowerCase())).slice(0, 100_000).map((n) => ({ role: 'a calibration image', file: path.join(path.resolve(dir), n) }));
}

const validate: Step = {
  stage: 'validate',
  when: () => true,
  async run(s) {
    const r = s.request;
    await mustExist(r.model, 'E_FILE_NOT_FOUND', 'Model');
    if (r.spec) await mustExist(r.spec, 'E_SPEC_NOT_FOUND', 'Experiment spec');
    else s.ctx.warn('No experiment spec (-e): image size comes from the model input or --input_size; the DeepStream config and labels use defaults.');
    const plan = planOutputs(r);
    s.plan = plan;
    // Fail on an existing or unwritable output now, not after minutes of calibration.
    // The cache, its provenance and calibration report may be reused: the calibrate stage checks them.
    // Every output is locked now (not at the write stage), so a second job aiming at one of them
    // fails at once instead of racing this one to the commit.
    const reusable = new Set(['cache', 'provenance', 'calibrationReport']);
    await checkPathCollisions(r, plan, await imageDirInputs(r));
    for (const [k, file] of Object.entries(plan)) await s.outputs.reserve(file as string, { mayExist: reusable.has(k) });
    if (r.outputs.resultsDir) await preflightResultsDir(r.outputs.resultsDir);
    // The .etlt is always sealed with the key: say so now, not at the write stage after calibration.
    // A consumer that cannot take the cache at all (TensorRT 11: no implicit INT8) is refused now.
    checkConsumers({ precision: r.precision, trtVersion: r.trtVersion, qdq: Boolean(r.outputs.qdq), engine: Boolean(r.outputs.engine), dsConfig: r.outputs.dsConfig });
    if (r.key === '') throw new StudioError('E_KEY_REQUIRED', 'No key to seal the output .etlt with', 'Pass -k <key> (or set EXPORT_STUDIO_KEY): the .etlt is encrypted with it, also when the input is a plain .onnx.');
    return `${Object.keys(plan).length} output(s) planned`;
  },
};

const specStep: Step = {
  stage: 'spec',
  when: (s) => (s.request.spec ? true : 'no spec given'),
  async run(s) {
    const file = must(s.request.spec, 'spec path');
    const { spec, warnings } = await loadSpec(file);
    const w = warnings.map((x) => `${file}:${x.line}:${x.column}: ${x.message}`);
    for (const line of w) s.ctx.warn(line);
    const imageSize = must(spec.imageSize, 'image_size');
    // The spec names more inputs (val_json_file, the TFRecords of its patterns): no output may be
    // one of them either, not even with --overwrite. A pattern that cannot be expanded here is
    // reported by the stage that reads it (calibration), not by an FP32 export that does not.
    const dc = spec.experiment.data_config;
    const specDir = path.dirname(path.resolve(file));
    // Web mode (a worker given roots): the data the spec names must be inside them, checked before
    // any of it is read or walked.
    const roots = readRoots();
    if (roots) await checkSpecDataRoots(dc, specDir, roots);
    const more: { role: string; file: string }[] = [];
    if (dc.val_json_file) more.push({ role: "the spec's val_json_file", file: path.resolve(specDir, dc.val_json_file) });
    for (const [field, pattern] of [['training_file_pattern', dc.training_file_pattern], ['validation_file_pattern', dc.validation_file_pattern]] as const) {
      if (!pattern?.trim()) continue;
      const files = await expandFilePattern(pattern, specDir).catch(() => [] as string[]);
      for (const f of files) more.push({ role: `a TFRecord of ${field}`, file: f });
    }
    if (more.length) await checkPathCollisions(s.request, must(s.plan, 'plan'), more);
    s.spec = { path: path.resolve(file), dir: path.dirname(path.resolve(file)), parsed: spec, imageSize, numClasses: spec.numClasses, warnings: w };
    return `image_size ${imageSize[0]}×${imageSize[1]}, ${spec.numClasses} classes`;
  },
};

const modelStep: Step = {
  stage: 'model',
  when: () => true,
  async run(s) {
    const r = s.request;
    const t0 = performance.now();
    const check = await quickKeyCheck(r.model, r.key);
    s.ctx.debug(`key check (${check.format}) passed in ${(performance.now() - t0).toFixed(1)} ms`);
    const m = await readModel(r.model, r.key, {
      signal: s.ctx.signal,
      onProgress: (p) => s.ctx.progress('model', p.done, p.total, 'bytes'),
    });
    s.model = {
      format: m.format,
      ...(m.etltInputName ? { etltInputName: m.etltInputName } : {}),
      onnx: m.onnx,
      fileBytes: m.fileBytes,
      sha256: m.sha256,
    };
    return `${m.format}, ${formatBytes(m.onnx.length)} ONNX`;
  },
};

const inspectStep: Step = {
  stage: 'inspect',
  when: () => true,
  async run(s) {
    const m = must(s.model, 'model');
    // A graph, checked before anything is derived from it or sealed: defined inputs, topological
    // order, no cycle, declared tensor sizes against their data.
    for (const w of validateModelGraph(decodeModel(m.onnx), s.request.model)) s.ctx.warn(w);
    const summary = inspectModel(m.onnx, {
      format: m.format,
      ...(m.etltInputName ? { etltInputName: m.etltInputName } : {}),
      fileBytes: m.fileBytes,
      sha256: m.sha256,
      modelPath: s.request.model,
    });
    m.summary = summary;
    // The .etlt (and the plain ONNX beside it) hold one file: weights kept in external data files
    // would be left behind, and calibration cannot load them either. Name the files, then refuse.
    if (summary.externalData) {
      const ext = await resolveExternalData(decodeModel(m.onnx), path.dirname(path.resolve(s.request.model)));
      throw new StudioError(
        'E_ONNX_EXTERNAL_DATA',
        `The model keeps weights in external data file(s) (${ext.files.map((f) => f.location).join(', ')}); an .etlt holds a single file, so they would be left out`,
        "Save the model as one file first, e.g. in Python: onnx.save_model(onnx.load('model.onnx'), 'single.onnx', save_as_external_data=False) (works below 2 GiB).",
        { file: s.request.model },
      );
    }
    checkModelAgainstSpec(s, summary);
    planDeployment(s, summary, m.onnx);
    if (summary.customOps.length) {
      s.ctx.warn(
        `The model has ops ONNX Runtime cannot run (TensorRT plugins?): ${summary.customOps.map((c) => `${c.opType}×${c.count}`).join(', ')}. ` +
          'They need the TensorRT OSS plugins at deployment; INT8 calibration covers the runnable part and lists the rest.',
      );
    }
    const input = summary.inputs[0];
    return `${summary.nodeCount} nodes, opset ${summary.opsets.find((o) => o.domain === '')?.version ?? '?'}, input ${input ? `${input.name} [${(input.shape ?? []).join(', ')}]` : '(none)'}`;
  },
};

/**
 * Derive the deployment settings once, before any long work: the preprocessing (which the
 * calibration then uses as is), precision, algorithm, target TensorRT and the model. A DeepStream
 * config that cannot be written (dynamic input without a size) fails here, not after calibrating.
 */
function planDeployment(s: JobState, summary: ModelSummary, onnxBytes: Uint8Array): void {
  const r = s.request;
  const needsPreprocessing = r.precision === 'int8' || r.outputs.dsConfig;
  const input: DeploymentInput = {
    preprocessing: needsPreprocessing ? requestPreprocessing(s) : null,
    precision: r.precision,
    algorithm: r.calibration?.algorithm,
    trtVersion: r.trtVersion,
    model: summary,
    specNumClasses: s.spec?.numClasses,
    floatTensors: r.floatTensors,
    qdq: Boolean(r.outputs.qdq),
    ...(r.floatTensors.length > 0 ? { nodes: decodeModel(onnxBytes).graph?.node ?? [] } : {}),
  };
  s.deploymentInput = input;
  s.deployment = deriveDeployment(input);
  // nvinfer's own warnings are logged by the deepstream stage (they are written into the config too).
  const nvinferWarnings = new Set(s.deployment.nvinfer?.warnings ?? []);
  for (const w of s.deployment.warnings) if (!nvinferWarnings.has(w)) s.ctx.warn(w);
}

/** The spec's image_size must match the model's fixed input dims (TAO exports Input [N,3,H,W]). */
function checkModelAgainstSpec(s: JobState, summary: ModelSummary): void {
  const spec = s.spec;
  const input = summary.inputs[0];
  if (!input) throw new StudioError('E_ONNX_INVALID', 'The model has no graph input', 'Export the model with its image input.', { file: s.request.model });
  if (summary.inputs.length > 1) s.ctx.warn(`The model has ${summary.inputs.length} inputs; calibration feeds the first, '${input.name}'.`);
  if (!spec || !input.shape || input.shape.length !== 4) return;
  const [, c, h, w] = input.shape;
  const [sh, sw] = spec.imageSize;
  const layoutNchw = c === 3 || typeof c !== 'number';
  const mh = layoutNchw ? h : c;
  const mw = layoutNchw ? w : h;
  if ((typeof mh === 'number' && mh !== sh) || (typeof mw === 'number' && mw !== sw)) {
    throw new StudioError(
      'E_MODEL_SPEC_MISMATCH',
      `The model input '${input.name}' is ${mh}×${mw} but the spec's image_size is (${sh}, ${sw})`,
      'Use the experiment spec the model was trained/exported with, or fix data_config.image_size.',
      { file: spec.path, ...(spec.parsed.set['data_config.image_size'] ?? {}) },
    );
  }
}

const writeStep: Step = {
  stage: 'write',
  when: () => true,
  async run(s) {
    const m = must(s.model, 'model');
    const plan = must(s.plan, 'plan');
    const { file, stream } = await s.outputs.createWriteStream(plan.etlt);
    s.roles.set(file.finalPath, 'etlt');
    await sealToStream(m.onnx, stream, s.request.key, { format: 'etlt', inputName: '' }, { signal: s.ctx.signal, totalBytes: m.onnx.length, onProgress: (p) => s.ctx.progress('write', p.done, p.total, 'bytes') });
    if (plan.onnx) await stageWrite(s, 'onnx', plan.onnx, m.onnx);
    return plan.onnx ? `${path.basename(plan.etlt)} + plain ${path.basename(plan.onnx)}` : path.basename(plan.etlt);
  },
};

const deepstreamStep: Step = {
  stage: 'deepstream',
  when: (s) => s.request.outputs.dsConfig,
  async run(s) {
    const plan = must(s.plan, 'plan');
    const m = must(s.model, 'model');
    const summary = must(m.summary, 'model summary');
    const dsFile = must(plan.dsConfig, 'ds config path');
    const dir = path.dirname(dsFile);
    const rel = (p: string | undefined) => (p ? path.relative(dir, p) || path.basename(p) : undefined);
    const spec = s.spec;
    const input = summary.inputs[0];
    const d = must(s.deployment, 'deployment');
    const settings = must(d.nvinfer, 'nvinfer settings');
    const modelFile = settings.modelFile === 'qdq' ? plan.qdq : plan.onnx;
    if (s.request.outputs.dsConfigEmbedKey) {
      s.ctx.warn('--ds_embed_key: the DeepStream config contains tlt-encoded-model and the model key in plain text (TAO style). DeepStream cannot decrypt an .etlt sealed by Export Studio; keep onnx-file for deployment.');
    }
    const customLib = s.request.outputs.dsCustomLib;
    const { text, warnings: dsWarnings } = nvinferConfig({
      onnxFile: must(rel(modelFile), 'onnx path'),
      etltFile: must(rel(plan.etlt), 'etlt path'),
      key: s.request.outputs.dsConfigEmbedKey ? s.request.key : undefined,
      embedKey: s.request.outputs.dsConfigEmbedKey,
      labelsFile: rel(plan.labels),
      int8CalibFile: settings.int8CalibFile ? rel(plan.cache) : undefined,
      precision: s.request.precision,
      imageSize: [settings.inferDims[settings.networkInputOrder === 0 ? 1 : 0], settings.inferDims[settings.networkInputOrder === 0 ? 2 : 1]],
      numClasses: settings.numDetectedClasses,
      batchSize: s.request.maxBatchSize,
      gpuId: s.request.gpu === 'cpu' ? 0 : s.request.gpu,
      outputBlobNames: summary.outputs.map((o) => o.name),
      inputName: input?.name ?? 'Input',
      settings,
      customLibPath: customLib,
      topK: spec?.parsed.experiment.maskrcnn_config.test_detections_per_image || 100,
      pluginOps: summary.customOps.map((c) => c.opType),
    });
    if (customLib === undefined) s.ctx.warn(`The DeepStream config's custom-lib-path is the default ${DEFAULT_CUSTOM_LIB}: pass --ds_custom_lib (app: Settings) if deepstream_tao_apps' post_processor is built elsewhere.`);
    const numClasses = settings.numDetectedClasses;
    for (const w of dsWarnings) s.ctx.warn(w);
    // With the key inside (--ds_embed_key) the config is readable by its owner only.
    await stageWrite(s, 'ds-config', dsFile, text, s.request.outputs.dsConfigEmbedKey ? 0o600 : 0o644);
    s.ctx.info(`DeepStream config points at the plain ONNX ${rel(plan.onnx)}: DeepStream cannot decrypt an .etlt sealed by Export Studio.`);
    if (plan.labels) {
      const json = spec?.parsed.experiment.data_config.val_json_file || undefined;
      const jsonPath = json ? path.resolve(spec?.dir ?? process.cwd(), json) : undefined;
      const labels = await buildLabels(jsonPath, numClasses);
      for (const w of labels.warnings) s.ctx.warn(w);
      await stageWrite(s, 'labels', plan.labels, labels.text);
    }
    return plan.labels ? 'nvinfer_config.txt + labels.txt' : 'nvinfer_config.txt';
  },
};

export const steps: Step[] = [validate, specStep, modelStep, inspectStep, calibrateStep, fidelityStep, searchStep, quantizeStep, writeStep, deepstreamStep, engineStep];
