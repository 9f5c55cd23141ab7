import { Command, Option, CommanderError } from 'commander';
import type { JobEvent } from '../../shared/events.js';
import { formatError, isStudioError } from '../../shared/errors.js';
import { runExport } from '../pipeline/run.js';
import { TOOL } from '../pipeline/version.js';
import { flagsToRequest, type ExportFlags } from './export-args.js';
import { ConsoleRenderer } from './progress.js';
import { inspectCommand, sealCommand, unsealCommand, gpusCommand } from './commands.js';
import { serveCommand } from './serve.js';
import { safeWriter } from './terminal.js';

export interface CliIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  isTTY: boolean;
  columns?: number;
  env: NodeJS.ProcessEnv;
  /** Cancels the running job (wired to SIGINT/SIGTERM by the entry file). */
  signal: AbortSignal;
}

const EXPORT_EPILOG = `
Calibration data for --data_type int8 (first match wins, as in TAO):
  --cal_data_file FILE    an existing TAO tensorfile (HDF5) is read as-is
  --cal_image_dir DIR     a folder of images (jpg/jpeg/png/bmp/webp/tif, any case);
                          with --cal_data_file NEW the tensorfile is also written
  (neither)               the spec's training data loader: TFRecords from
                          data_config.training_file_pattern, training preprocessing,
                          batches × batch_size records sampled at random (seeded)
  Export Studio never calibrates on random noise: a missing or empty source is an error.

Outputs (beside -o unless given): <output>.etlt, with --gen_ds_config nvinfer_config.txt,
labels.txt and a plain <output>.onnx DeepStream can read; with int8 the TensorRT cache
(--cal_cache_file, default ./cal.bin) and its provenance <cache>.json.
Existing files are never overwritten unless --overwrite is given.

Examples:
  export-studio mask_rcnn export -m model.tlt -k $KEY -e spec.txt --gen_ds_config
  export-studio mask_rcnn export -m model.tlt -k $KEY -e spec.txt --data_type int8 \\
      --batches 10 --batch_size 8 --cal_cache_file ./cal.bin
`;

function addExportCommand(parent: Command, io: CliIO, setExit: (code: number) => void): void {
  const cmd = parent
    .command('export')
    .description('Export a Mask R-CNN model to an encrypted .etlt (+ INT8 cache, DeepStream config)')
    .requiredOption('-m, --model <path>', 'path to the model: .tlt, .etlt or .onnx')
    .option('-k, --key <key>', 'model key (or set EXPORT_STUDIO_KEY): opens a .tlt/.etlt and seals the output .etlt')
    .option('-e, --experiment_spec <path>', 'experiment spec file (protobuf text) used for training')
    .option('-o, --output_file <path>', 'output .etlt (default: ./<model name>.etlt)')
    .addOption(new Option('--data_type <type>', 'precision of the exported artifacts').choices(['fp32', 'fp16', 'int8']).default('fp32'))
    .option('--gen_ds_config', 'write a DeepStream nvinfer_config.txt and labels.txt beside the output')
    .option('--gpu_index <index...>', 'GPU to run on (nvidia-smi index)')
    .option('--log_file <path>', 'write the full log to this file')
    .option('-v, --verbose', 'verbose (debug) logging')
    .option('--results_dir <dir>', 'write TAO status.json there')
    .option('--cal_image_dir <dir>', 'folder of calibration images (int8)')
    .option('--cal_data_file <path>', 'TAO tensorfile (HDF5) to read, or to write from --cal_image_dir')
    .option('--cal_cache_file <path>', 'TensorRT calibration cache to write (int8)', './cal.bin')
    .option('--batches <n>', 'number of calibration batches', '10')
    .option('--batch_size <n>', 'images per calibration batch', '16')
    .option('--max_batch_size <n>', 'max batch size in the DeepStream config / engine', '1')
    .option('--engine_file <path>', 'also build a TensorRT engine with trtexec (must be on PATH)')
    .option('--onnx_file <path>', 'also write the plain ONNX here (default with --gen_ds_config: <output>.onnx)')
    .option('--qdq_file <path>', 'also write a Q/DQ ONNX for TensorRT explicit quantization (int8)')
    .option('--report_file <path>', 'write the JSON report here')
    .addOption(new Option('--cal_source <source>', 'force the calibration source').choices(['spec', 'image-dir', 'images', 'tensorfile', 'cache']))
    .option('--cal_images <files>', 'comma-separated calibration images (what the app picker sends)')
    .addOption(new Option('--cal_algorithm <name>', 'calibration algorithm').choices(['entropy', 'minmax', 'percentile']).default('entropy'))
    .addOption(new Option('--cal_histogram <mode>', 'entropy/percentile histograms: sampled (fast, default) or exact (every value; opset ≥ 16)').choices(['sampled', 'exact']))
    .option('--cal_percentile <p>', 'percentile for --cal_algorithm percentile (default 99.99)')
    .option('--cal_seed <n>', 'seed for sampling calibration data (default 42)')
    .option('--cal_accept_fewer', 'accept fewer usable calibration samples than batches × batch_size')
    .addOption(new Option('--cal_resize <mode>', 'calibration image resize: keep-aspect-pad (training) or stretch (TAO exporter parity)').choices(['keep-aspect-pad', 'stretch']))
    .option('--no-cal_reuse', 'always recalibrate, even if the cache provenance matches')
    .option('--no_fidelity', 'skip the INT8 fidelity check (FP32 vs Q/DQ on held-out images; on by default for int8)')
    .option('--fidelity_images <n>', 'held-out images for the fidelity check (default 8)')
    .option('--trt_version <x.y.z>', 'TensorRT version the cache header targets (default 8.6.1)')
    .option('--overwrite', 'replace existing output files')
    .option('--ds_embed_key', 'write TAO-style tlt-encoded-model / tlt-model-key lines into the DeepStream config (puts the key in that file)')
    .addOption(new Option('--preset <name>', 'preprocessing preset for a model without a spec').choices(['tao-maskrcnn', 'imagenet', 'unit']))
    .option('--mean <r,g,b>', 'per-channel mean in pixel units (model channel order)')
    .option('--scale <r,g,b>', 'per-channel multiplier after the mean')
    .addOption(new Option('--channel_order <order>', 'channel order of the model input').choices(['rgb', 'bgr']))
    .addOption(new Option('--layout <layout>', 'layout of the model input').choices(['nchw', 'nhwc']))
    .option('--input_size <HxW>', 'input size for models with dynamic spatial dims')
    .option('--cpu', 'run on the CPU even if a GPU is present')
    // Accepted for TAO compatibility (hidden there too).
    .addOption(new Option('-s, --strict_type_constraints').hideHelp())
    .addOption(new Option('--force_ptq').hideHelp())
    .addOption(new Option('--cal_json_file <path>').hideHelp())
    .addOption(new Option('--min_batch_size <n>').hideHelp())
    .addOption(new Option('--opt_batch_size <n>').hideHelp())
    .addOption(new Option('--max_workspace_size <bytes>').hideHelp())
    .addOption(new Option('--static_batch_size <n>').hideHelp())
    .addOption(new Option('--target_opset <n>').hideHelp())
    .addOption(new Option('--onnx_route <route>').hideHelp())
    .addOption(new Option('--gpus <n>').hideHelp())
    .addHelpText('after', EXPORT_EPILOG)
    .action(async (opts: Record<string, unknown>) => {
      setExit(await exportAction(opts, io));
    });
  cmd.showHelpAfterError('(run with --help for usage)');
}

function camelFlags(opts: Record<string, unknown>): ExportFlags {
  // commander camel-cases snake_case long options only at dashes; normalise underscores.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out as unknown as ExportFlags;
}

async function exportAction(opts: Record<string, unknown>, io: CliIO): Promise<number> {
  const flags = camelFlags(opts);
  let reported = false;
  const renderer = new ConsoleRenderer({ tty: io.isTTY, verbose: flags.verbose ?? false, write: io.stderr, ...(io.columns ? { columns: io.columns } : {}) });
  try {
    const { request, notices } = flagsToRequest(flags, io.env);
    for (const n of notices) renderer.handle({ type: 'log', level: n.level, text: n.text, time: Date.now() });
    const report = await runExport(request, (e: JobEvent) => {
      if (e.type === 'error') reported = true;
      renderer.handle(e);
    }, io.signal);
    io.stdout(`Export finished in ${report.seconds.toFixed(1)} s. Artifacts:\n`);
    for (const a of report.artifacts) io.stdout(`  ${a.role.padEnd(18)} ${a.path}\n`);
    if (report.warnings.length) io.stdout(`${report.warnings.length} warning(s): see above${request.outputs.logFile ? ` or ${request.outputs.logFile}` : ''}.\n`);
    return 0;
  } catch (e) {
    // runExport already emitted (and the renderer printed) its error; errors raised before it are printed here.
    if (isStudioError(e)) {
      if (!reported) io.stderr(formatError(e.toData()) + '\n');
      return e.exitCode;
    }
    io.stderr(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 70;
  }
}

export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('export-studio')
    .description('Export trained TAO Mask R-CNN / ONNX models: encrypted .etlt, TensorRT INT8 cache, Q/DQ ONNX, DeepStream config')
    .version(TOOL.version, '--version')
    // Commander's own errors (unknown flag, bad choice, missing value) in the standard form, with the E_USAGE code and a hint.
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (str, write) => write(formatError({ code: 'E_USAGE', message: str.trim().replace(/^error:\s*/, ''), hint: 'Run the command with --help to see its flags.' }) + '\n') })
    .exitOverride()
    .showSuggestionAfterError(true);

  // Created with .command() so they inherit exitOverride/configureOutput.
  const maskRcnn = program.command('mask_rcnn').description('Mask R-CNN tasks (TAO-compatible flags)');
  addExportCommand(maskRcnn, io, setExit);
  // `tao model mask_rcnn export …` users can keep the `model` word.
  const model = program.command('model', { hidden: true }).description('alias: export-studio model mask_rcnn export …');
  addExportCommand(model.command('mask_rcnn').description('Mask R-CNN tasks'), io, setExit);

  program
    .command('inspect')
    .description('Show a model card: format, inputs/outputs, opset, ops, plugin ops ONNX Runtime cannot run')
    .requiredOption('-m, --model <path>', '.onnx, .tlt or .etlt')
    .option('-k, --key <key>', 'key for .tlt/.etlt (or EXPORT_STUDIO_KEY)')
    .option('--json', 'print JSON')
    .action(async (o: { model: string; key?: string; json?: boolean }) => setExit(await inspectCommand(o, io)));

  program
    .command('seal')
    .description('Encrypt an ONNX model with a key into .etlt (with TAO header) or .tlt (no header)')
    .requiredOption('-m, --model <path>', 'plain .onnx model')
    .option('-k, --key <key>', 'key (or EXPORT_STUDIO_KEY)')
    .requiredOption('-o, --output_file <path>', 'output .etlt or .tlt')
    .option('--input_name <name>', '.etlt header input name (default: empty = ONNX payload, TAO convention)')
    .option('--overwrite', 'replace an existing output')
    .action(async (o: { model: string; key?: string; output_file: string; input_name?: string; overwrite?: boolean }) => setExit(await sealCommand(o, io)));

  program
    .command('unseal')
    .description('Decrypt a .tlt/.etlt back to a plain .onnx')
    .requiredOption('-m, --model <path>', '.tlt or .etlt')
    .option('-k, --key <key>', 'key (or EXPORT_STUDIO_KEY)')
    .requiredOption('-o, --output_file <path>', 'output .onnx')
    .option('--overwrite', 'replace an existing output')
    .action(async (o: { model: string; key?: string; output_file: string; overwrite?: boolean }) => setExit(await unsealCommand(o, io)));

  program
    .command('gpus')
    .description('List NVIDIA GPUs (nvidia-smi); empty with the reason when there is none')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => setExit(await gpusCommand(o, io)));

  program
    .command('serve')
    .description('Web mode: serve the export wizard on 127.0.0.1 (token required) and run exports here')
    .option('--port <n>', 'port (0 = any free port)', '0')
    .option('--root <dir...>', 'extra folders the file browser may show (home, cwd and /tmp always)')
    .action(async (o: { port: string; root?: string[] }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        io.stderr(formatError({ code: 'E_USAGE', message: `--port must be 0..65535, got '${o.port}'`, hint: 'Example: --port 8765' }) + '\n');
        setExit(2);
        return;
      }
      setExit(await serveCommand({ port, ...(o.root ? { root: o.root } : {}) }, io));
    });

  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function runCli(argv: string[], rawIo: CliIO): Promise<number> {
  // Names from models, specs and paths reach the terminal: no escape sequence of theirs gets through.
  const io: CliIO = { ...rawIo, stdout: safeWriter(rawIo.stdout), stderr: safeWriter(rawIo.stderr) };
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2; // commander already printed the message
    }
    throw e;
  }
  return code;
}
