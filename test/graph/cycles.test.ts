import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * No value-import cycle between our modules. In native ESM a cycle makes the module loaded first
 * see its partner's bindings uninitialised (a TDZ ReferenceError), and in an esbuild bundle the
 * binding is silently `undefined` (the steps.ts ⇄ calibrate-step.ts ⇄ engine-step.ts cycle did
 * both). Type-only imports are erased and do not count; neither do dynamic `import()`s, which run
 * after loading.
 */
const root = path.resolve(import.meta.dirname, '../..');
const SOURCE_DIRS = ['shared', 'renderer/src', 'electron', 'scripts', 'bench', 'build', 'e2e', 'test', 'eslint-rules'];
const EXT = /\.(ts|tsx|mts|js|mjs)$/;

function walk(dir: string, out: string[]): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'generated' && e.name !== 'fixtures') walk(p, out);
    } else if (EXT.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `./x.js` written in TS source means `./x.ts` (or .tsx, or an index). */
function resolve(from: string, spec: string, files: Set<string>): string | null {
  const base = path.resolve(path.dirname(from), spec);
  const stem = base.replace(/\.(js|mjs|ts|tsx)$/, '');
  for (const c of [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}.mjs`, `${stem}.js`, path.join(base, 'index.ts'), path.join(base, 'index.js')]) if (files.has(c)) return c;
  return null;
}

/** Relative value imports of one file (import/export … from, import x = require). */
export function valueImports(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const specs: string[] = [];
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const c = st.importClause;
      if (c?.isTypeOnly) continue;
      // `import { type A, type B } from` is erased too (unless it also has a default import).
      const named = c?.namedBindings;
      if (c && !c.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)) continue;
      specs.push(st.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
      if (st.isTypeOnly) continue;
      const ec = st.exportClause;
      if (ec && ts.isNamedExports(ec) && ec.elements.length > 0 && ec.elements.every((e) => e.isTypeOnly)) continue;
      specs.push(st.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(st) && !st.isTypeOnly && ts.isExternalModuleReference(st.moduleReference) && ts.isStringLiteral(st.moduleReference.expression)) {
      specs.push(st.moduleReference.expression.text);
    }
  }
  return specs.filter((s) => s.startsWith('.'));
}

/** Strongly connected components with more than one module, or a module importing itself. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return out;
}

describe('the import graph', () => {
  it('finds a cycle when there is one (the check itself works)', () => {
    const g = new Map([
      ['steps', ['calibrate-step', 'io']],
      ['calibrate-step', ['engine-step']],
      ['engine-step', ['steps']],
      ['io', []],
    ]);
    expect(cycles(g)).toEqual([['calibrate-step', 'engine-step', 'steps']]);
    expect(valueImports('a.ts', "import type { A } from './a.js';\nimport { type B } from './b.js';\nimport { c } from './c.js';\nexport type { D } from './d.js';\nexport * from './e.js';\n")).toEqual(['./c.js', './e.js']);
  });

  it('has no value-import cycle between our modules', () => {
    const files = SOURCE_DIRS.flatMap((d) => (fs.existsSync(path.join(root, d)) ? walk(path.join(root, d), []) : []));
    const set = new Set(files);
    const graph = new Map<string, string[]>();
    for (const f of files) {
      const deps = valueImports(f, fs.readFileSync(f, 'utf8'))
        .map((s) => resolve(f, s, set))
        .filter((x): x is string => x !== null);
      graph.set(f, deps);
    }
    expect(files.length).toBeGreaterThan(200);
    const found = cycles(graph).map((c) => c.map((f) => path.relative(root, f)));
    expect(found, `import cycles:\n${found.map((c) => c.join(' ⇄ ')).join('\n')}`).toEqual([]);
  });
});
