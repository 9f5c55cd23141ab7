// Layering rule for Export Studio (docs/ARCHITECTURE.md, "Layers"). It FAILS CLOSED, like VS Code's
// code-import-patterns:
// - every linted file belongs to exactly one layer (by folder or name); a file in no layer is an error;
// - an import may reach only its own layer and the layers listed in `may` (relative imports are
//   resolved against the importing file, so `../../renderer/x` is caught wherever it is written);
// - an npm package may be imported only by the layers that list it in `packages` (type-only imports
//   may also use `typePackages`); Node built-ins only where `node` is true;
// - a value import of 'electron' only in electron/main and electron/preload: `import`, `export … from`,
//   `import()`, `require()`, `createRequire(…)(…)` / a variable holding createRequire's result,
//   `module.require()`, and TS `import x = require()` are all checked;
// - an import whose specifier is computed (`import(name)`, `require(x)`) cannot be checked and is an
//   error (a template literal without expressions counts as a literal).
// The per-layer tsconfigs must reference exactly the layers in `may` (eslint-rules/layers.test.ts).
import path from 'node:path';
import { builtinModules } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '..');

const UI = ['react', 'react-dom', '@mui/material', '@mui/icons-material', '@mui/x-charts', '@emotion/react', '@emotion/styled', '@tanstack/react-virtual', 'zustand'];
const NATIVE = ['onnxruntime-node', 'sharp', 'protobufjs', 'h5wasm', '@node-rs/crc32'];
const TEST = ['vitest', 'fast-check', 'eslint', 'typescript', 'esbuild', 'ws', 'commander', 'zod', 'yaml', 'app-builder-lib', 'builder-util', 'playwright-core', 'kubernetes-models', '@imgly/background-removal-node', ...NATIVE];

/**
 * The layers. `dirs`: folder prefixes (relative to the repo root); `files`: exact files; `test`:
 * also owns every `*.test.ts(x)` under those folders (a test may reach what it tests).
 * First match wins, in this order; `*.test.*` files match the layer `tests` before their folder's.
 */
export const LAYERS = {
  shared: { dirs: ['shared/'], may: [], node: false, packages: ['zod'] },
  renderer: { dirs: ['renderer/src/'], may: ['shared'], node: false, packages: [...UI, 'zod'] },
  // esbuild: types only (loader.ts bundles its worker from source in dev, through a computed import
  // that keeps the dev dependency out of the app bundle); long: protobufjs' int64 type.
  pipeline: { dirs: ['electron/pipeline/'], may: ['shared'], node: true, packages: [...NATIVE, 'zod', 'yaml'], typePackages: ['esbuild', 'long'] },
  worker: { dirs: ['electron/worker/'], may: ['pipeline', 'shared'], node: true, packages: ['sharp'], typePackages: ['electron'] },
  // esbuild: bundleFromSource (worker-process.ts), dev and test runs from TypeScript sources only.
  host: { dirs: ['electron/host/'], may: ['worker', 'pipeline', 'shared'], node: true, packages: ['zod', 'esbuild'], typePackages: ['electron'] },
  web: { dirs: ['electron/web/'], may: ['host', 'shared'], node: true, packages: ['ws'] },
  // kubernetes-models: types only (batch/k8s.ts checks its Job and ConfigMap literals against them).
  cli: { dirs: ['electron/cli/'], may: ['web', 'host', 'pipeline', 'shared'], node: true, packages: ['commander', 'yaml'], typePackages: ['kubernetes-models'] },
  main: { dirs: ['electron/main/'], may: ['host', 'shared'], node: true, packages: ['electron'] },
  preload: { dirs: ['electron/preload/'], may: ['shared'], node: false, packages: ['electron'] },
  /** Build and sample scripts, benchmarks: Node programs run by npm scripts. */
  tools: { dirs: ['scripts/', 'bench/', 'renderer/scripts/'], may: ['pipeline', 'shared', 'build'], node: true, packages: [...NATIVE, 'esbuild', 'vite', '@vitejs/plugin-react', 'protobufjs-cli', 'playwright-core'] },
  /** Packaging helpers (electron-builder config, locating the Electron binary). */
  build: { dirs: ['build/'], may: [], node: true, packages: [] },
  /** Lint rules and the ESLint config. */
  lint: { dirs: ['eslint-rules/'], files: ['eslint.config.js'], may: [], node: true, packages: ['eslint', '@eslint/js', 'typescript-eslint'] },
  /** Browser tests (Playwright) and their fixtures. */
  e2e: { dirs: ['e2e/'], files: ['playwright.config.ts'], may: ['build', 'shared', 'main', 'pipeline'], node: true, packages: ['@playwright/test'] },
  /** Test-runner and bundler configs at the roots. */
  config: { files: ['vitest.config.ts', 'vitest.fast.config.ts', 'renderer/vite.config.ts', 'renderer/vitest.config.ts'], may: [], node: true, packages: ['vitest', 'vite', '@vitejs/plugin-react'] },
  /** Unit, integration, fault and hostile-input tests: every `*.test.ts(x)` and test/**. */
  tests: {
    dirs: ['test/'],
    tests: true,
    may: ['shared', 'renderer', 'pipeline', 'worker', 'host', 'web', 'cli', 'main', 'preload', 'tools', 'build', 'lint'],
    node: true,
    packages: [...TEST, ...UI],
    typePackages: ['electron'],
  },
};

/** Back-compat view: layer → layers it may import from. */
export const ALLOWED = Object.fromEntries(Object.entries(LAYERS).map(([k, v]) => [k, v.may]));

/** Only these layers may value-import 'electron' (elsewhere it downloads Electron at run time). */
const ELECTRON_VALUE = new Set(['main', 'preload']);
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const TEST_FILE = /\.test\.[cm]?[jt]sx?$/;

/** The layer of a file (repo-relative or absolute), or null when no layer owns it. */
export function layerOf(file) {
  const rel = path.relative(ROOT, path.resolve(ROOT, file)).split(path.sep).join('/');
  if (rel.startsWith('..')) return null;
  if (TEST_FILE.test(rel) && !rel.startsWith('e2e/') && !rel.startsWith('eslint-rules/fixtures/')) return 'tests';
  for (const [name, l] of Object.entries(LAYERS)) {
    if (l.files?.includes(rel)) return name;
    if (l.dirs?.some((d) => rel.startsWith(d))) return name;
  }
  return null;
}

function packageName(spec) {
  if (spec.startsWith('@')) return spec.split('/').slice(0, 2).join('/');
  return spec.split('/')[0];
}

/** The string value of a literal or an expression-free template, else undefined (computed). */
function staticString(node) {
  if (!node) return undefined;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? undefined;
  return undefined;
}

const isCreateRequireCall = (n) =>
  n?.type === 'CallExpression' &&
  ((n.callee.type === 'Identifier' && n.callee.name === 'createRequire') || (n.callee.type === 'MemberExpression' && !n.callee.computed && n.callee.property.name === 'createRequire'));

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the import rules between layers (docs/ARCHITECTURE.md, Layers); fails closed' },
    schema: [],
    messages: {
      unknown: "'{{file}}' belongs to no layer: add its folder to a layer in eslint-rules/layers.js (and to that layer's tsconfig).",
      layer: "Layer '{{from}}' may not import from layer '{{to}}' ({{spec}}). Allowed: {{allowed}}.",
      outside: "'{{spec}}' resolves outside every layer ({{to}}).",
      node: "Layer '{{from}}' must not use Node built-in '{{spec}}': it runs without Node.",
      pkg: "Layer '{{from}}' may not import package '{{spec}}' (allowed: {{allowed}}). Add it to the layer's packages in eslint-rules/layers.js if it belongs there.",
      electron: "Only electron/main and electron/preload may value-import 'electron'; use `import type` here.",
      computed: "A computed module specifier cannot be checked against the layers; import a literal path (layer '{{from}}').",
    },
  },
  create(context) {
    const file = path.resolve(context.filename ?? context.getFilename());
    const from = layerOf(file);
    if (from === null) {
      return {
        Program(node) {
          context.report({ node, messageId: 'unknown', data: { file: path.relative(ROOT, file) } });
        },
      };
    }
    const layer = LAYERS[from];
    /** Identifiers that hold a require function (`const req = createRequire(import.meta.url)`). */
    const requireNames = new Set(['require']);

    function check(node, spec, typeOnly) {
      if (spec === undefined) {
        context.report({ node, messageId: 'computed', data: { from } });
        return;
      }
      if (spec.startsWith('.') || spec.startsWith('/')) {
        const target = path.resolve(path.dirname(file), spec);
        // TypeScript sources import `./x.js` for `./x.ts`: try the source names too.
        const to = [target, target.replace(/\.js$/, '.ts'), target.replace(/\.js$/, '.tsx'), target.replace(/\.mjs$/, '.mts')].map(layerOf).find((l) => l !== null) ?? null;
        if (to === null) {
          // node_modules paths and files outside the repo are not ours to import by path.
          context.report({ node, messageId: 'outside', data: { spec, to: path.relative(ROOT, target) } });
        } else if (to !== from && !layer.may.includes(to)) {
          context.report({ node, messageId: 'layer', data: { from, to, spec, allowed: layer.may.join(', ') || 'none' } });
        }
        return;
      }
      if (BUILTINS.has(spec) || spec.startsWith('node:')) {
        if (!layer.node && !typeOnly) context.report({ node, messageId: 'node', data: { from, spec } });
        return;
      }
      const pkg = packageName(spec);
      if (pkg === 'electron') {
        if (!typeOnly && !ELECTRON_VALUE.has(from)) {
          context.report({ node, messageId: 'electron' });
          return;
        }
      }
      const allowed = typeOnly ? [...layer.packages, ...(layer.typePackages ?? [])] : layer.packages;
      if (!allowed.includes(pkg)) context.report({ node, messageId: 'pkg', data: { from, spec, allowed: allowed.join(', ') || 'none' } });
    }

    const isTypeOnlyImport = (n) => n.importKind === 'type' || (n.specifiers.length > 0 && n.specifiers.every((s) => s.importKind === 'type'));
    const isTypeOnlyExport = (n) => n.exportKind === 'type' || (n.specifiers?.length > 0 && n.specifiers.every((s) => s.exportKind === 'type'));

    return {
      ImportDeclaration(n) {
        check(n, n.source.value, isTypeOnlyImport(n));
      },
      ExportNamedDeclaration(n) {
        if (n.source) check(n, n.source.value, isTypeOnlyExport(n));
      },
      ExportAllDeclaration(n) {
        check(n, n.source.value, n.exportKind === 'type');
      },
      ImportExpression(n) {
        check(n, staticString(n.source), false);
      },
      TSImportType(n) {
        // `typeof import('x')` / `import('x').T`: types only, still layered.
        // typescript-eslint 8 names the specifier `source` (the older `argument` is deprecated).
        const src = 'source' in n ? n.source : n.argument?.type === 'TSLiteralType' ? n.argument.literal : n.argument;
        check(n, staticString(src), true);
      },
      VariableDeclarator(n) {
        if (n.id.type === 'Identifier' && isCreateRequireCall(n.init)) requireNames.add(n.id.name);
      },
      AssignmentExpression(n) {
        if (n.left.type === 'Identifier' && isCreateRequireCall(n.right)) requireNames.add(n.left.name);
      },
      CallExpression(n) {
        const c = n.callee;
        const loads =
          (c.type === 'Identifier' && requireNames.has(c.name)) || // require('x'), req('x')
          isCreateRequireCall(c) || // createRequire(import.meta.url)('x')
          (c.type === 'MemberExpression' && !c.computed && c.property.name === 'require'); // module.require('x')
        if (loads) check(n, staticString(n.arguments[0]), false);
      },
      TSImportEqualsDeclaration(n) {
        if (n.moduleReference.type === 'TSExternalModuleReference') check(n, staticString(n.moduleReference.expression), n.importKind === 'type');
      },
    };
  },
};

export default { rules: { layers: rule } };
