import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

// Lints virtual files placed in each layer; a forbidden import must be an error, an allowed one not.
const eslint = new ESLint({ cwd: process.cwd() });

async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'studio/layers').map((m) => m.message);
}

describe('layering lint rule', () => {
  it('rejects renderer → electron/*', async () => {
    const errs = await layerErrors('renderer/src/x.ts', "import { runExport } from '../../electron/pipeline/run.js';\nvoid runExport;\n");
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/'renderer' may not import from layer 'pipeline'/);
  });

  it('rejects Node built-ins and foreign packages in shared', async () => {
    const errs = await layerErrors('shared/x.ts', "import fs from 'node:fs';\nimport sharp from 'sharp';\nvoid fs; void sharp;\n");
    expect(errs).toHaveLength(2);
  });

  it('rejects pipeline → host and cli', async () => {
    const errs = await layerErrors(
      'electron/pipeline/x.ts',
      "import { a } from '../host/jobs.js';\nexport { b } from '../cli/main.js';\nvoid a;\n",
    );
    expect(errs).toHaveLength(2);
  });

  it("rejects a value import of 'electron' outside main/preload but allows a type import", async () => {
    expect(await layerErrors('electron/host/x.ts', "import { app } from 'electron';\nvoid app;\n")).toHaveLength(1);
    expect(await layerErrors('electron/host/x.ts', "import type { App } from 'electron';\nexport type A = App;\n")).toHaveLength(0);
    expect(await layerErrors('electron/main/x.ts', "import { app } from 'electron';\nvoid app;\n")).toHaveLength(0);
  });

  it('allows the documented directions', async () => {
    expect(await layerErrors('electron/cli/x.ts', "import { a } from '../pipeline/run.js';\nimport { b } from '../../shared/index.js';\nvoid a; void b;\n")).toHaveLength(0);
    expect(await layerErrors('renderer/src/x.ts', "import { b } from '../../shared/index.js';\nvoid b;\n")).toHaveLength(0);
  });
});
