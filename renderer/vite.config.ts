import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * Renderer build. `vite build --config renderer/vite.config.ts` → out/renderer (index.html only,
 * the production page). `--mode mock` → out/renderer-mock with dev.html too (the in-memory demo
 * API for screenshots), so the mock never ships in the production output.
 *
 * CSP (sent by the Electron protocol handler and the web server, see docs/ARCHITECTURE.md):
 *   default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: <thumb scheme>;
 *   connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'
 * The build emits no inline script (module entry only, no modulepreload polyfill).
 */
export default defineConfig(({ mode }) => {
  const mock = mode === 'mock';
  const root = import.meta.dirname;
  const input: Record<string, string> = { index: `${root}/index.html` };
  if (mock) input['dev'] = `${root}/dev.html`;
  return {
    root,
    base: './',
    plugins: [react()],
    build: {
      outDir: `${root}/../out/${mock ? 'renderer-mock' : 'renderer'}`,
      emptyOutDir: true,
      modulePreload: { polyfill: false },
      // Inlined assets would need data: in more CSP directives; keep every asset a file.
      assetsInlineLimit: 0,
      sourcemap: true,
      chunkSizeWarningLimit: 2000,
      rolldownOptions: { input },
    },
    server: { port: 5173, strictPort: false },
  };
});
