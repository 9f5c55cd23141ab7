#!/usr/bin/env node
// `npm start`: build, then launch the desktop app when an Electron binary exists, else web mode.
//   node scripts/start.mjs [--web] [--no-build] [-- <args for `export-studio serve`, e.g. --port 8080>]
// The `electron` package is never required here: since Electron 42 requiring it without a
// binary starts a download. build/electron-binary.mjs finds the binary by path instead.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NO_ELECTRON_MESSAGE, findElectronBinary } from '../build/electron-binary.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const dashdash = argv.indexOf('--');
const own = dashdash === -1 ? argv : argv.slice(0, dashdash);
const passThrough = dashdash === -1 ? [] : argv.slice(dashdash + 1);
const forceWeb = own.includes('--web');
const skipBuild = own.includes('--no-build');

function run(cmd, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', ...options });
    // Ctrl+C already reaches the child through the terminal's process group (forwarding it too
    // would count as a second Ctrl+C, which forces `serve` to stop without cleanup): only keep
    // this process alive until the child is done. SIGTERM/SIGHUP are forwarded.
    const ignore = () => undefined;
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', ignore);
    process.on('SIGTERM', forward);
    process.on('SIGHUP', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', forward);
      process.off('SIGHUP', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
    child.on('error', (e) => {
      console.error(`start: cannot run ${cmd}: ${e.message}`);
      resolve(1);
    });
  });
}

async function build(desktop) {
  if (skipBuild) return;
  const code = await run(process.execPath, [path.join(root, 'scripts/build.mjs')]);
  if (code !== 0) process.exit(code);
  // scripts/build.mjs may already include this step; running it again is cheap (two esbuild calls).
  if (desktop) {
    const { buildElectron } = await import('./build-electron.mjs');
    await buildElectron();
  }
}

const electron = forceWeb ? null : findElectronBinary({ root });

if (electron) {
  await build(true);
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // With package.json "main" set, `electron .` gives the app its name and userData folder.
  const entry = pkg.main && existsSync(path.join(root, pkg.main)) ? '.' : path.join('out', 'electron', 'main.js');
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  console.log(`Starting the desktop app with ${electron}`);
  process.exit(await run(electron, [entry, ...passThrough], { env }));
} else {
  if (!forceWeb) {
    console.log(`${NO_ELECTRON_MESSAGE}\nStarting web mode instead: open the URL printed below in a browser on this machine.`);
    console.log('(For the desktop app install the Electron binary: `npx install-electron`, or set ELECTRON_OVERRIDE_DIST_PATH.)');
  }
  await build(false);
  const cli = path.join(root, 'out/cli/export-studio.js');
  if (!existsSync(cli)) {
    console.error(`start: ${path.relative(root, cli)} is missing; run \`npm run build\` and look for errors.`);
    process.exit(1);
  }
  process.exit(await run(process.execPath, [cli, 'serve', ...passThrough]));
}
