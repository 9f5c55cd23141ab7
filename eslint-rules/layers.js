// Layering rule for Export Studio (docs/ARCHITECTURE.md, "Layers"). Each source file belongs to a
// layer by its folder; an import may only reach the layers listed for it. Relative imports are
// resolved against the importing file, so `../../renderer/x` is caught wherever it is written.
import path from 'node:path';
import { builtinModules } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Folder prefix → layer name (first match wins). */
const LAYERS = [
  ['shared/', 'shared'],
  ['renderer/', 'renderer'],
  ['electron/main/', 'main'],
  ['electron/preload/', 'preload'],
  ['electron/host/', 'host'],
  ['electron/worker/', 'worker'],
  ['electron/pipeline/', 'pipeline'],
  ['electron/cli/', 'cli'],
  ['electron/web/', 'web'],
];

/** Layer → layers it may import from (itself is always allowed). */
export const ALLOWED = {
  shared: [],
  renderer: ['shared'],
  pipeline: ['shared'],
  worker: ['pipeline', 'shared'],
  host: ['worker', 'pipeline', 'shared'],
  cli: ['web', 'host', 'worker', 'pipeline', 'shared'],
  web: ['host', 'pipeline', 'shared'],
  main: ['host', 'shared'],
  preload: ['shared'],
};

/** Layers that run without Node (browser, sandboxed preload) or must stay std-only. */
const NO_NODE = new Set(['shared', 'renderer', 'preload']);
/** npm packages the std-only shared layer may use. */
const SHARED_PACKAGES = new Set(['zod']);
/** Only these layers may value-import 'electron' (elsewhere it downloads Electron at run time). */
const ELECTRON_VALUE = new Set(['main', 'preload']);

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

function layerOf(absFile) {
  const rel = path.relative(ROOT, absFile).split(path.sep).join('/');
  for (const [prefix, layer] of LAYERS) if (rel.startsWith(prefix)) return layer;
  return null;
}

function packageName(spec) {
  if (spec.startsWith('@')) return spec.split('/').slice(0, 2).join('/');
  return spec.split('/')[0];
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the import rules between layers (DESIGN.md)' },
    schema: [],
    messages: {
      layer: "Layer '{{from}}' may not import from layer '{{to}}' ({{spec}}). Allowed: {{allowed}}.",
      node: "Layer '{{from}}' must not use Node built-in '{{spec}}': it runs without Node.",
      sharedPkg: "The std-only 'shared' layer may not import package '{{spec}}' (allowed: zod).",
      electron: "Only electron/main and electron/preload may value-import 'electron'; use `import type` here.",
    },
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const from = layerOf(path.resolve(file));
    if (from === null) return {};

    function check(node, spec, typeOnly) {
      if (typeof spec !== 'string') return;
      if (spec.startsWith('.')) {
        const to = layerOf(path.resolve(path.dirname(file), spec));
        if (to !== null && to !== from && !ALLOWED[from].includes(to)) {
          context.report({ node, messageId: 'layer', data: { from, to, spec, allowed: ALLOWED[from].join(', ') || 'none' } });
        }
        return;
      }
      if (spec === 'electron' || spec.startsWith('electron/')) {
        if (!typeOnly && !ELECTRON_VALUE.has(from)) context.report({ node, messageId: 'electron' });
        return;
      }
      if (NO_NODE.has(from) && BUILTINS.has(spec)) {
        context.report({ node, messageId: 'node', data: { from, spec } });
        return;
      }
      if (from === 'shared' && !typeOnly && !SHARED_PACKAGES.has(packageName(spec))) {
        context.report({ node, messageId: 'sharedPkg', data: { spec } });
      }
    }

    const isTypeOnlyImport = (n) =>
      n.importKind === 'type' ||
      (n.specifiers.length > 0 && n.specifiers.every((s) => s.importKind === 'type'));

    return {
      ImportDeclaration(n) {
        check(n, n.source.value, isTypeOnlyImport(n));
      },
      ExportNamedDeclaration(n) {
        if (n.source) check(n, n.source.value, n.exportKind === 'type');
      },
      ExportAllDeclaration(n) {
        check(n, n.source.value, n.exportKind === 'type');
      },
      ImportExpression(n) {
        if (n.source.type === 'Literal') check(n, n.source.value, false);
      },
      CallExpression(n) {
        if (n.callee.type === 'Identifier' && n.callee.name === 'require' && n.arguments[0]?.type === 'Literal') {
          check(n, n.arguments[0].value, false);
        }
      },
      TSImportEqualsDeclaration(n) {
        if (n.moduleReference.type === 'TSExternalModuleReference') check(n, n.moduleReference.expression.value, n.importKind === 'type');
      },
    };
  },
};

export default { rules: { layers: rule } };
