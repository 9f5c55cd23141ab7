import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'vitest';

/**
 * What a test needs from the machine (a Debian package, a fixture, root), and the one way a test
 * that cannot run says so: its reason lands in the test's name (`[skipped: …]`, for skipIf) or in
 * its meta (`needs(ctx, …)`), and `npm test`'s closing line (scripts/test-summary.mjs) counts every
 * skip under its reason. A skip without a reason is reported as such, never hidden.
 */
export interface Need {
  ok: boolean;
  /** Why the test cannot run here and how to fix that, e.g. "python3-h5py is not installed (apt-get install -y python3-h5py)". */
  reason: string;
}

declare module 'vitest' {
  interface TaskMeta {
    skipReason?: string;
  }
}

export const PYTHON = '/usr/bin/python3';

/** A Debian package, present when `present()` says so. */
export function debianPackage(pkg: string, present: () => boolean): Need {
  let ok: boolean;
  try {
    ok = present();
  } catch {
    ok = false;
  }
  return { ok, reason: `${pkg} is not installed (apt-get install -y ${pkg})` };
}

/** A Python module from a Debian package (python3-onnx, python3-h5py, …), importable by /usr/bin/python3. */
export function pythonModule(module: string, pkg: string): Need {
  return debianPackage(pkg, () => existsSync(PYTHON) && spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 30_000 }).status === 0);
}

/** Real photos shipped by python3-skimage. */
export const SKIMAGE_DATA = '/usr/lib/python3/dist-packages/skimage/data';
export function skimagePhotos(...names: string[]): Need {
  return debianPackage('python3-skimage', () => (names.length ? names : ['astronaut.png']).every((n) => existsSync(`${SKIMAGE_DATA}/${n}`)));
}

/** A file that is not a Debian package (the shared fixtures, a model exported by hand). */
export function file(path: string, what: string): Need {
  return { ok: existsSync(path), reason: `${what} is absent (${path})` };
}

/** Any other condition, with its reason. */
export function condition(ok: boolean, reason: string): Need {
  return { ok, reason };
}

/** True when every need is met. */
export function met(...needs: Need[]): boolean {
  return needs.every((n) => n.ok);
}

/** A test or suite name carrying the skip reason when a need is missing: `it.skipIf(!met(n))(named('…', n), …)`. */
export function named(name: string, ...needs: Need[]): string {
  const missing = needs.filter((n) => !n.ok);
  return missing.length === 0 ? name : `${name} [skipped: ${missing.map((n) => n.reason).join('; ')}]`;
}

/** Inside a running test: skip it with the reason unless every need is met. */
export function needs(ctx: TestContext, ...list: Need[]): void {
  const missing = list.filter((n) => !n.ok);
  if (missing.length === 0) return;
  const reason = missing.map((n) => n.reason).join('; ');
  ctx.task.meta.skipReason = reason;
  ctx.skip(reason);
}
