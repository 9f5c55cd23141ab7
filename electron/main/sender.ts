import { isAppUrl } from './origins.js';

/** The part of Electron's WebFrameMain the sender check reads (fakes in tests). */
export interface SenderFrameLike {
  readonly url: string;
  readonly parent: unknown;
  readonly detached?: boolean;
}

/**
 * Checklist item 17: an IPC call is served only when it comes from the top-level frame of our
 * own page. `senderFrame` is null once the frame navigated or was destroyed; sub-frames
 * (`parent !== null`) and any other origin are refused. The URL is parsed, not prefix-matched.
 */
export function isTrustedSender(frame: SenderFrameLike | null | undefined): boolean {
  if (frame === null || frame === undefined || typeof frame !== 'object') return false;
  if (frame.detached === true) return false;
  if (frame.parent !== null) return false;
  if (typeof frame.url !== 'string') return false;
  return isAppUrl(frame.url);
}
