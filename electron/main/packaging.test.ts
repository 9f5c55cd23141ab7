import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * build/electron-builder.yml is checked the way electron-builder itself loads it (getConfig +
 * its JSON-schema validation, both offline) plus the product's own rules: fuses, asar unpacking
 * of every native addon we ship, the entry and the Linux targets. Packaging itself downloads
 * Electron and is not run here.
 */
const root = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);

interface BuilderConfig {
  extraMetadata?: { main?: string };
  files?: (string | { filter?: string[] })[];
  asar?: boolean;
  asarUnpack?: string[];
  electronFuses?: Record<string, boolean>;
  toolsets?: { appimage?: string };
  linux?: { target?: string[]; category?: string; maintainer?: string; icon?: string };
  deb?: { depends?: string[] };
  npmRebuild?: boolean;
}

async function load(): Promise<{ config: BuilderConfig; validate: (c: unknown) => Promise<void> }> {
  const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
    getConfig(dir: string, file: string, opts: null): Promise<BuilderConfig>;
    validateConfiguration(c: unknown, logger: unknown): Promise<void>;
  };
  const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
  const config = await getConfig(root, 'build/electron-builder.yml', null);
  return { config, validate: (c) => validateConfiguration(c, new DebugLogger(false)) };
}

/** Direct dependencies (and their optional platform packages) that contain a native .node addon. */
function nativePackages(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const names = new Set<string>();
  for (const dep of Object.keys(pkg.dependencies)) {
    names.add(dep);
    const p = path.join(root, 'node_modules', dep, 'package.json');
    if (fs.existsSync(p)) for (const o of Object.keys((JSON.parse(fs.readFileSync(p, 'utf8')) as { optionalDependencies?: Record<string, string> }).optionalDependencies ?? {})) names.add(o);
  }
  const hasNode = (dir: string, depth: number): boolean => {
    if (depth > 6 || !fs.existsSync(dir)) return false;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.node')) return true;
      if (e.isDirectory() && e.name !== 'node_modules' && hasNode(path.join(dir, e.name), depth + 1)) return true;
    }
    return false;
  };
  return [...names].filter((n) => hasNode(path.join(root, 'node_modules', n), 0)).sort();
}

describe('build/electron-builder.yml', () => {
  it('loads and passes electron-builder’s own schema validation (which does reject junk)', async () => {
    const { config, validate } = await load();
    await expect(validate(config)).resolves.toBeUndefined();
    await expect(validate({ ...config, asarUnpak: ['typo'] })).rejects.toThrow(/asarUnpak/);
  });

  it('starts the bundled main, ships the built app only, and keeps it in asar', async () => {
    const { config } = await load();
    expect(config.extraMetadata?.main).toBe('out/electron/main.js');
    const files = (config.files ?? []).flatMap((f) => (typeof f === 'string' ? [f] : (f.filter ?? [])));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'out/electron/**', 'out/worker/**', 'out/renderer/**', '!out/**/*.map']));
    expect(config.asar).toBe(true);
    expect(config.npmRebuild).toBe(false);
  });

  it('unpacks every native addon the app depends on', async () => {
    const { config } = await load();
    const natives = nativePackages();
    // sharp and @node-rs/crc32 keep their .node files in per-platform optional packages.
    expect(natives).toContain('onnxruntime-node');
    expect(natives.some((n) => n.startsWith('@img/sharp-'))).toBe(true);
    expect(natives.some((n) => n.startsWith('@node-rs/crc32-'))).toBe(true);
    const unpack = config.asarUnpack ?? [];
    for (const n of natives) {
      const scope = n.startsWith('@') ? n.split('/')[0] : null;
      expect(unpack.includes(`**/node_modules/${n}/**`) || (scope !== null && unpack.includes(`**/node_modules/${scope}/**`)), n).toBe(true);
    }
    for (const extra of ['**/node_modules/h5wasm/**', '**/node_modules/sharp/**', '**/node_modules/@img/**']) expect(unpack).toContain(extra);
  });

  it('sets the reviewed fuses', async () => {
    const { config } = await load();
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      enableCookieEncryption: true,
      grantFileProtocolExtraPrivileges: false,
      loadBrowserProcessSpecificV8Snapshot: false,
    });
  });

  it('builds an AppImage with the static runtime and a deb with the keyring library', async () => {
    const { config } = await load();
    expect(config.linux?.target).toEqual(['AppImage', 'deb']);
    expect(config.linux?.category).toBe('Development');
    expect(config.linux?.maintainer).toMatch(/<.+@.+>/);
    expect(config.toolsets?.appimage).toBe('1.0.3');
    expect(config.deb?.depends).toEqual(expect.arrayContaining(['libsecret-1-0', 'libnss3', 'libgtk-3-0']));
    const icons = path.join(root, config.linux?.icon ?? 'missing');
    expect(fs.readdirSync(icons).filter((f) => /^\d+x\d+\.png$/.test(f)).length).toBeGreaterThan(0);
  });
});
