import { createContext, useContext } from 'react';
import type { StudioClient } from '../api/client.js';
import type { AppInfo } from '../../../shared/api.js';

export const ClientContext = createContext<StudioClient | null>(null);

export function useClient(): StudioClient {
  const c = useContext(ClientContext);
  if (!c) throw new Error('useClient outside <ClientContext.Provider>');
  return c;
}

export function useApi() {
  return useClient().api;
}

export const InfoContext = createContext<AppInfo | null>(null);

export function useInfo(): AppInfo | null {
  return useContext(InfoContext);
}
