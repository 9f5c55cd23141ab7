export function findElectronBinary(options?: { root?: string; env?: Record<string, string | undefined> }): string | null;
export const NO_ELECTRON_MESSAGE: string;
