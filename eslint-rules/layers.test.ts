import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { LAYERS, layerOf } from './layers.js';

// Lints probe files placed in each layer (virtual: lintText with a path); a forbidden import must be
// an error, an allowed one not. Every hole the issue-8 review listed has its probe here.
const root = path.resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, filePath) });
  const fatal = (result?.messages ?? []).filter((m) => m.fatal);
  if (fatal.length) throw new Error(`${filePath} did not parse: ${fatal.map((m) => m.message).join('; ')}`);
  return (result?.messages ?? []).filter((m) => m.ruleId === 'studio/layers').map((m) => m.message);
}

describe('layering lint rule: fails closed', () => {
  it.each(['misc/x.ts', 'electron/newlayer/x.ts', 'x.ts', 'renderer/x.ts', 'docs/x.mjs'])('a file in no layer (%s) is an error, even with no imports', async (file) => {
    const errs = await layerErrors(file, 'export const a = 1;\n');
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/belongs to no layer/);
  });

  it.each([
    ['scripts/x.mjs', 'tools'],
    ['scripts/x.ts', 'tools'],
    ['bench/x.ts', 'tools'],
    ['test/x.ts', 'tests'],
    ['e2e/web/x.spec.ts', 'e2e'],
    ['eslint-rules/x.js', 'lint'],
    ['build/x.mjs', 'build'],
    ['electron/pipeline/x.test.ts', 'tests'],
    ['playwright.config.ts', 'e2e'],
  ])('%s has a layer (%s) and is checked', async (file, layer) => {
    expect(layerOf(file)).toBe(layer);
    expect(await layerErrors(file, "import fs from 'node:fs';\nexport const a = fs;\n")).toEqual([]);
    // …and checked: an npm package outside its list is an error there too.
    expect(await layerErrors(file, "import React from 'react-dom';\nexport const a = React;\n")).toHaveLength(layer === 'tests' ? 0 : 1);
  });

  it('the other folders without a layer stay without one: scripts/, bench/, test/, e2e/, eslint-rules/ and build/ cannot reach the renderer or main sources', async () => {
    expect(await layerErrors('scripts/x.ts', "import { a } from '../renderer/src/x.js';\nexport { a };\n")).toHaveLength(1);
    expect(await layerErrors('bench/x.ts', "import { a } from '../electron/main/x.js';\nexport { a };\n")).toHaveLength(1);
    expect(await layerErrors('e2e/web/x.ts', "import { a } from '../../electron/host/api.js';\nexport { a };\n")).toHaveLength(1);
    expect(await layerErrors('e2e/web/x.ts', "import { a } from '../../renderer/src/store/request.js';\nexport { a };\n")).toHaveLength(1);
    expect(await layerErrors('build/x.mjs', "import { a } from '../electron/pipeline/run.js';\nexport { a };\n")).toHaveLength(1);
    expect(await layerErrors('eslint-rules/x.js', "import { a } from '../shared/index.js';\nexport { a };\n")).toHaveLength(1);
  });
});

describe('layering lint rule: npm packages per layer', () => {
  it.each([
    ['renderer/src/x.ts', 'sharp'],
    ['renderer/src/x.ts', 'onnxruntime-node'],
    ['renderer/src/x.ts', 'node:fs'],
    ['renderer/src/x.ts', 'fs'],
    ['renderer/src/x.ts', 'ws'],
    ['electron/pipeline/x.ts', 'react'],
    ['electron/pipeline/x.ts', '@mui/material'],
    ['electron/pipeline/x.ts', 'electron'],
    ['electron/pipeline/x.ts', 'commander'],
    ['shared/x.ts', 'sharp'],
    ['shared/x.ts', 'node:path'],
    ['electron/preload/x.ts', 'node:fs'],
    ['electron/web/x.ts', 'react'],
    ['electron/cli/x.ts', 'zustand'],
    ['electron/main/x.ts', 'onnxruntime-node'],
  ])('%s may not import %s', async (file, spec) => {
    expect(await layerErrors(file, `import x from '${spec}';\nexport const a = x;\n`)).toHaveLength(1);
  });

  it.each([
    ['renderer/src/x.ts', '@mui/material/Button'],
    ['renderer/src/x.ts', 'react'],
    ['electron/pipeline/x.ts', 'onnxruntime-node'],
    ['electron/pipeline/x.ts', 'node:fs/promises'],
    ['electron/cli/x.ts', 'commander'],
    ['electron/web/x.ts', 'ws'],
    ['shared/x.ts', 'zod'],
    ['electron/main/x.ts', 'electron'],
  ])('%s may import %s', async (file, spec) => {
    expect(await layerErrors(file, `import x from '${spec}';\nexport const a = x;\n`)).toEqual([]);
  });
});

describe("layering lint rule: 'electron' and computed imports", () => {
  it.each([
    ["import { app } from 'electron';\nvoid app;\n", 'import'],
    ["export { app } from 'electron';\n", 'export … from'],
    ["const e = require('electron');\nvoid e;\n", 'require()'],
    ["import { createRequire } from 'node:module';\nconst e = createRequire(import.meta.url)('electron');\nvoid e;\n", 'createRequire(…)()'],
    ["import { createRequire } from 'node:module';\nconst req = createRequire(import.meta.url);\nconst e = req('electron');\nvoid e;\n", 'a variable holding createRequire'],
    ["import module from 'node:module';\nconst e = module.createRequire(import.meta.url)('electron');\nvoid e;\n", 'module.createRequire(…)()'],
    ["declare const m: { require(s: string): unknown };\nconst e = m.require('electron');\nvoid e;\n", 'x.require()'],
    ["const e = await import('electron');\nvoid e;\n", 'import()'],
    ['const e = await import(`electron`);\nvoid e;\n', 'import() of a template literal'],
    ["import e = require('electron');\nvoid e;\n", 'import = require()'],
  ])('a value import of electron outside main/preload is an error: %s (%s)', async (code) => {
    const errs = await layerErrors('electron/host/x.ts', code);
    expect(errs.filter((e) => /electron/.test(e))).toHaveLength(1);
  });

  it('a type import of electron is allowed where listed; require.resolve does not load it', async () => {
    expect(await layerErrors('electron/host/x.ts', "import type { App } from 'electron';\nexport type A = App;\n")).toEqual([]);
    expect(await layerErrors('electron/host/x.ts', "export type A = typeof import('electron');\n")).toEqual([]);
    expect(await layerErrors('build/x.mjs', "import { createRequire } from 'node:module';\nexport const p = createRequire(import.meta.url).resolve('electron/package.json');\n")).toEqual([]);
    expect(await layerErrors('electron/main/x.ts', "import { app } from 'electron';\nvoid app;\n")).toEqual([]);
    expect(await layerErrors('electron/preload/x.ts', "import { contextBridge } from 'electron';\nvoid contextBridge;\n")).toEqual([]);
  });

  it.each([
    ["const name = 'sharp';\nconst m = await import(name);\nvoid m;\n", 'import(variable)'],
    ["const n = 'x';\nconst m = await import(`../host/${n}.js`);\nvoid m;\n", 'import(template with expressions)'],
    ["declare const n: string;\nconst m = require(n);\nvoid m;\n", 'require(variable)'],
    ["import { createRequire } from 'node:module';\ndeclare const n: string;\nconst m = createRequire(import.meta.url)(n);\nvoid m;\n", 'createRequire(…)(variable)'],
  ])('a computed specifier is an error: %s (%s)', async (code) => {
    const errs = await layerErrors('electron/pipeline/x.ts', code);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/computed module specifier/);
  });

  it('a literal dynamic import or require of another layer or package is checked like a static one', async () => {
    expect(await layerErrors('renderer/src/x.ts', "const m = await import('sharp');\nvoid m;\n")).toHaveLength(1);
    expect(await layerErrors('electron/pipeline/x.ts', "const m = await import('../host/jobs.js');\nvoid m;\n")).toHaveLength(1);
    expect(await layerErrors('electron/pipeline/x.ts', "const m = require('react');\nvoid m;\n")).toHaveLength(1);
  });
});

describe('layering lint rule: layer directions', () => {
  it('rejects renderer → electron/*', async () => {
    const errs = await layerErrors('renderer/src/x.ts', "import { runExport } from '../../electron/pipeline/run.js';\nvoid runExport;\n");
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/'renderer' may not import from layer 'pipeline'/);
  });

  it('rejects pipeline → host and cli, type imports included', async () => {
    const errs = await layerErrors('electron/pipeline/x.ts', "import { a } from '../host/jobs.js';\nexport { b } from '../cli/main.js';\nimport type { C } from '../worker/x.js';\nvoid a;\nexport type D = C;\n");
    expect(errs).toHaveLength(3);
  });

  it('rejects a path that leaves every layer', async () => {
    expect(await layerErrors('electron/pipeline/x.ts', "import a from '../../node_modules/sharp/lib/index.js';\nvoid a;\n")).toHaveLength(1);
  });

  it('allows the documented directions', async () => {
    expect(await layerErrors('electron/cli/x.ts', "import { a } from '../pipeline/run.js';\nimport { b } from '../../shared/index.js';\nvoid a; void b;\n")).toEqual([]);
    expect(await layerErrors('renderer/src/x.ts', "import { b } from '../../shared/index.js';\nvoid b;\n")).toEqual([]);
    expect(await layerErrors('test/x.ts', "import { b } from '../renderer/src/store/request.js';\nimport { c } from '../electron/pipeline/run.js';\nvoid b; void c;\n")).toEqual([]);
  });
});

describe('every npm dependency has a home', () => {
  /** Packages nothing imports: command-line tools, type packages, ESLint plugins. */
  const NOT_IMPORTED = new Set(['electron-builder', 'eslint-plugin-import-x', '@types/node', '@types/react', '@types/react-dom', '@types/ws']);
  it('each dependency of package.json is listed by some layer (or is a tool nothing imports)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const listed = new Set(Object.values(LAYERS).flatMap((l) => [...l.packages, ...(l.typePackages ?? [])]));
    const homeless = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)].filter((d) => !listed.has(d) && !NOT_IMPORTED.has(d));
    expect(homeless, 'add each to the packages of the layers that may import it (eslint-rules/layers.js)').toEqual([]);
  });
});

describe('the per-layer tsconfigs agree with the lint rule', () => {
  /** TypeScript projects and the layer each one compiles. */
  const PROJECTS: Record<string, string> = {
    'shared/tsconfig.json': 'shared',
    'renderer/tsconfig.json': 'renderer',
    'electron/pipeline/tsconfig.json': 'pipeline',
    'electron/worker/tsconfig.json': 'worker',
    'electron/host/tsconfig.json': 'host',
    'electron/web/tsconfig.json': 'web',
    'electron/cli/tsconfig.json': 'cli',
    'electron/main/tsconfig.json': 'main',
    'electron/preload/tsconfig.json': 'preload',
    'tsconfig.tools.json': 'tools',
    'tsconfig.tests.json': 'tests',
  };
  const projectOf = (from: string, ref: string): string => {
    const abs = path.resolve(root, path.dirname(from), ref);
    const file = fs.existsSync(abs) && fs.statSync(abs).isDirectory() ? path.join(abs, 'tsconfig.json') : abs;
    return path.relative(root, file).split(path.sep).join('/');
  };

  it('the root tsconfig builds every project', () => {
    const refs = (JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8')) as { references: { path: string }[] }).references.map((r) => projectOf('tsconfig.json', r.path));
    expect(refs.sort()).toEqual(Object.keys(PROJECTS).sort());
  });

  it.each(Object.entries(PROJECTS))('%s references exactly the TypeScript layers its layer may import', (project, layer) => {
    const json = JSON.parse(fs.readFileSync(path.join(root, project), 'utf8')) as { references?: { path: string }[] };
    const refs = (json.references ?? []).map((r) => PROJECTS[projectOf(project, r.path)] ?? `unknown project ${r.path}`);
    const tsLayers = new Set(Object.values(PROJECTS));
    const may = (LAYERS as Record<string, { may: string[] }>)[layer]!.may.filter((l) => tsLayers.has(l));
    expect(refs.sort()).toEqual([...may].sort());
  });
});
