import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { SECURE_WEB_PREFERENCES } from './security.js';

/**
 * main.ts cannot run without Electron, so its security-relevant wiring is checked from the
 * source, the way static scanners read it: the BrowserWindow literal, the handlers it installs.
 */
const file = path.join(import.meta.dirname, 'main.ts');
const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);

function find<T extends ts.Node>(pred: (n: ts.Node) => n is T): T[] {
  const out: T[] = [];
  const visit = (n: ts.Node) => {
    if (pred(n)) out.push(n);
    ts.forEachChild(n, visit);
  };
  visit(source);
  return out;
}

const calls = (name: string) => find((n): n is ts.CallExpression => ts.isCallExpression(n) && n.expression.getText().endsWith(name));

describe('main.ts wiring', () => {
  it('creates every BrowserWindow with a literal webPreferences equal to SECURE_WEB_PREFERENCES', () => {
    const wins = find((n): n is ts.NewExpression => ts.isNewExpression(n) && n.expression.getText() === 'BrowserWindow');
    expect(wins.length).toBe(1);
    for (const w of wins) {
      const opts = w.arguments?.[0];
      expect(opts && ts.isObjectLiteralExpression(opts)).toBe(true);
      const wp = (opts as ts.ObjectLiteralExpression).properties.find((p) => p.name?.getText() === 'webPreferences');
      expect(wp && ts.isPropertyAssignment(wp) && ts.isObjectLiteralExpression(wp.initializer)).toBe(true);
      const literal = new Map<string, boolean>();
      for (const p of ((wp as ts.PropertyAssignment).initializer as ts.ObjectLiteralExpression).properties) {
        if (!ts.isPropertyAssignment(p)) continue;
        const v = p.initializer.kind === ts.SyntaxKind.TrueKeyword ? true : p.initializer.kind === ts.SyntaxKind.FalseKeyword ? false : undefined;
        if (v !== undefined) literal.set(p.name.getText(), v);
      }
      for (const key of ['contextIsolation', 'sandbox', 'nodeIntegration', 'webSecurity', 'allowRunningInsecureContent', 'experimentalFeatures', 'webviewTag']) {
        expect(literal.get(key), key).toBe(SECURE_WEB_PREFERENCES[key as keyof typeof SECURE_WEB_PREFERENCES]);
      }
      for (const [k, v] of literal) expect(v, k).toBe(SECURE_WEB_PREFERENCES[k as keyof typeof SECURE_WEB_PREFERENCES]);
    }
  });

  it('loads only the app URL, never file://, and installs the global guards', () => {
    const text = source.getFullText();
    expect(calls('loadURL').map((c) => c.arguments[0]?.getText())).toEqual(['APP_ENTRY_URL']);
    expect(calls('loadFile')).toEqual([]);
    expect(text).not.toMatch(/file:\/\//);
    expect(calls('setPermissionRequestHandler')).toHaveLength(1);
    expect(calls('setPermissionCheckHandler')).toHaveLength(1);
    expect(calls('registerSchemesAsPrivileged')).toHaveLength(1);
    expect(calls('requestSingleInstanceLock')).toHaveLength(1);
    expect(calls('registerIpc')).toHaveLength(1);
    expect(calls('hardenWebContents')).toHaveLength(1);
    expect(text).toMatch(/app\.on\('web-contents-created'/);
    expect(text).toMatch(/app\.on\('child-process-gone'/);
    expect(text).toMatch(/app\.on\('before-quit'/);
    // No raw ipcMain.handle/on outside the guarded registration, no sendSync anywhere.
    expect(calls('ipcMain.handle')).toEqual([]);
    expect(calls('ipcMain.on')).toEqual([]);
    expect(text).not.toMatch(/sendSync/);
  });

  it('registers schemes before ready and handlers after it', () => {
    const text = source.getFullText();
    const reg = text.indexOf('registerSchemesAsPrivileged(');
    const ready = text.indexOf('whenReady()');
    const handle = text.indexOf('protocol.handle(');
    expect(reg).toBeGreaterThan(0);
    expect(ready).toBeGreaterThan(0);
    expect(handle).toBeGreaterThan(ready);
  });
});
