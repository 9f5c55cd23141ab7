import { Command, CommanderError } from 'commander';
import type { JobEvent } from '../../shared/events.js';
import { exitCodeFor, formatError } from '../../shared/errors.js';
import { parseExportRequest } from '../../shared/request.js';
import { int8UncheckedReason } from '../../shared/report.js';
import { planOutputs } from '../pipeline/paths.js';
import { runExport } from '../pipeline/run.js';
import { TOOL } from '../pipeline/version.js';
import { flagsToRequest } from './export-args.js';
import { addExportFlags, readExportFlags, type ExportFlags } from './export-flags.js';
import { ConsoleRenderer } from './progress.js';
import { failureExit, inspectCommand, sealCommand, unsealCommand, gpusCommand } from './commands.js';
import { serveCommand } from './serve.js';
import { safeWriter } from './terminal.js';
import { addBatchCommands } from './batch/commands.js';

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
      --batches 10 --batch_size 8 --cal_cache_file ./cal.bin`;

function addExportCommand(parent: Command, io: CliIO, setExit: (code: number) => void): void {
  const cmd = parent
    .command('export')
    .description('Export a Mask R-CNN model to an encrypted .etlt (+ INT8 cache, DeepStream config)');
  const byName = addExportFlags(cmd);
  cmd
    .addHelpText('after', EXPORT_EPILOG)
    .action(async (opts: Record<string, unknown>) => {
      setExit(await exportAction(readExportFlags(opts, byName), io));
    });
  cmd.showHelpAfterError('(run with --help for usage)');
}

async function exportAction(flags: ExportFlags, io: CliIO): Promise<number> {
  let reported = false;
  const renderer = new ConsoleRenderer({ tty: io.isTTY, verbose: flags.verbose ?? false, write: io.stderr, ...(io.columns ? { columns: io.columns } : {}) });
  try {
    const { request, notices } = flagsToRequest(flags, io.env);
    for (const n of notices) renderer.handle({ type: 'log', level: n.level, text: n.text, time: Date.now() });
    if (flags.dryRun) {
      // The files this export would write (absolute), as JSON: the same planner the worker uses.
      io.stdout(JSON.stringify(planOutputs(parseExportRequest(request)), null, 2) + '\n');
      return 0;
    }
    const report = await runExport(request, (e: JobEvent) => {
      if (e.type === 'error') reported = true;
      renderer.handle(e);
    }, io.signal);
    const verdict = report.fidelity?.verdict;
    const below = verdict !== undefined && !verdict.meetsTarget;
    io.stdout(`Export ${below ? 'wrote every file' : 'finished'} in ${report.seconds.toFixed(1)} s. Artifacts:\n`);
    for (const a of report.artifacts) io.stdout(`  ${a.role.padEnd(18)} ${a.path}\n`);
    if (report.warnings.length) io.stdout(`${report.warnings.length} warning(s): see above${request.outputs.logFile ? ` or ${request.outputs.logFile}` : ''}.\n`);
    if (verdict) {
      // The one-line verdict, last, so scripts and people see it without reading the table.
      io.stdout(`${below ? '✖' : '✔'} ${verdict.summary}.${below ? ` Next: ${verdict.nextStep ?? ''}` : ''}\n`);
      if (below) return verdict.allowed ? 0 : exitCodeFor('E_INT8_BELOW_TARGET');
    } else {
      // No verdict is not a pass: say the INT8 was not checked, and why.
      const unchecked = int8UncheckedReason(report);
      if (unchecked !== null) io.stdout(`! INT8 not checked against a target: ${unchecked}.\n`);
    }
    return 0;
  } catch (e) {
    // runExport already emitted (and the renderer printed) its error; errors raised before it are printed here.
    return failureExit(io, e, reported);
  }
}

export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('export-studio')
    .description('Export trained TAO Mask R-CNN / ONNX models: encrypted .etlt, TensorRT INT8 cache, Q/DQ ONNX, DeepStream config')
    .version(TOOL.version, '--version')
    // Commander's own errors (unknown flag, bad choice, missing value) in the standard form, with the E_USAGE code and a hint.
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      // Help wraps at the terminal's width, else at 80 (what docs/CLI.md shows; flags.test.ts compares).
      getOutHelpWidth: () => (io.isTTY && io.columns ? io.columns : 80),
      getErrHelpWidth: () => (io.isTTY && io.columns ? io.columns : 80),
      outputError: (str, write) => write(formatError({ code: 'E_USAGE', message: str.trim().replace(/^error:\s*/, ''), hint: 'Run the command with --help to see its flags.' }) + '\n') })
    .exitOverride()
    .showSuggestionAfterError(true);

  // Created with .command() so they inherit exitOverride/configureOutput.
  const maskRcnn = program.command('mask_rcnn').description('Mask R-CNN tasks (TAO-compatible flags)');
  addExportCommand(maskRcnn, io, setExit);
  // `tao model mask_rcnn export …` users can keep the `model` word.
  const model = program.command('model', { hidden: true }).description('alias: export-studio model mask_rcnn export …');
  addExportCommand(model.command('mask_rcnn').description('Mask R-CNN tasks'), io, setExit);

  // Batch manifests: each entry in the export command's flags (export-flags.ts).
  addBatchCommands(program, io, setExit);

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
    .option('--cpu_jobs <n>', 'CPU exports that may run at once (GPU exports run one per GPU; default EXPORT_STUDIO_CPU_JOBS or 1)')
    .action(async (o: { port: string; root?: string[]; cpu_jobs?: string }) => {
      const cpuJobs = o.cpu_jobs === undefined ? undefined : Number(o.cpu_jobs);
      if (cpuJobs !== undefined && (!Number.isInteger(cpuJobs) || cpuJobs < 1)) {
        io.stderr(formatError({ code: 'E_USAGE', message: `--cpu_jobs must be an integer ≥ 1, got '${o.cpu_jobs}'`, hint: 'Example: --cpu_jobs 2' }) + '\n');
        setExit(2);
        return;
      }
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        io.stderr(formatError({ code: 'E_USAGE', message: `--port must be 0..65535, got '${o.port}'`, hint: 'Example: --port 8765' }) + '\n');
        setExit(2);
        return;
      }
      setExit(await serveCommand({ port, ...(o.root ? { root: o.root } : {}), ...(cpuJobs !== undefined ? { cpuJobs } : {}) }, io));
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
