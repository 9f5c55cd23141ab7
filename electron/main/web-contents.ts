import { externalUrl, isNavigationAllowed } from './origins.js';

interface PreventableEvent {
  preventDefault(): void;
  /** Electron ≥ 25 puts the target on the event; older listeners got it as the 2nd argument. */
  url?: string;
}

/** The slice of WebContents that hardening touches (a fake in tests). */
export interface WebContentsLike {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: PreventableEvent, url?: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export interface HardenOptions {
  /** shell.openExternal; called only with a validated http(s) URL. */
  openExternal: (url: string) => unknown;
}

/** What to do with a window.open / target=_blank request: always deny; http(s) goes to the browser. */
export function windowOpenDecision(url: string): { action: 'deny'; external: string | null } {
  return { action: 'deny', external: externalUrl(url) };
}

/**
 * Checklist items 11, 13, 14, 15 for every WebContents (registered from app
 * 'web-contents-created'): navigation away from the app origin is cancelled, new windows are
 * denied (http(s) links open in the system browser after URL validation), <webview> cannot attach.
 */
export function hardenWebContents(contents: WebContentsLike, options: HardenOptions): void {
  const guard = (event: PreventableEvent, url?: string) => {
    const target = event.url ?? url ?? '';
    if (!isNavigationAllowed(target)) event.preventDefault();
  };
  contents.on('will-navigate', guard);
  contents.on('will-redirect', guard);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const d = windowOpenDecision(url);
    if (d.external) void Promise.resolve(options.openExternal(d.external)).catch(() => undefined);
    return { action: 'deny' };
  });
}
