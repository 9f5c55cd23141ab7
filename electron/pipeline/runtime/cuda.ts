import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Where onnxruntime-node keeps its CUDA execution provider (downloaded from NuGet by its install
 * script: `npm run install:cuda`), or null when the package cannot be located. Resolving does not
 * load the package.
 */
export function cudaProviderLibrary(): string | null {
  try {
    const dir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    return path.join(dir, 'bin', 'napi-v6', process.platform, process.arch, lib);
  } catch {
    return null;
  }
}

/** True when the CUDA provider library is installed (a GPU export can then run on the GPU). */
export function cudaProviderInstalled(): boolean {
  const lib = cudaProviderLibrary();
  return lib !== null && existsSync(lib);
}
