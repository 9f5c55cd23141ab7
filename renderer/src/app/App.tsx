import { useEffect, useMemo, useState } from 'react';
import { AppBar, Box, CssBaseline, IconButton, Toolbar, Tooltip, Typography, useMediaQuery } from '@mui/material';
import { ThemeProvider } from '@mui/material/styles';
import DarkModeIcon from '@mui/icons-material/DarkMode';
import LightModeIcon from '@mui/icons-material/LightMode';
import type { AppInfo } from '../../../shared/api.js';
import type { StudioClient } from '../api/client.js';
import { ClientContext, InfoContext } from './client-context.js';
import { makeTheme } from './theme.js';
import { resolveTheme, toggledTheme, useSettingsStore } from '../store/settings.js';
import { Wizard } from '../wizard/Wizard.js';
import { JobsView } from '../jobs/JobsView.js';
import { startJobSync } from '../store/jobs.js';
import { persistWizard } from '../store/persist.js';
import { DropZone } from '../components/DropZone.js';

export function App({ client }: { client: StudioClient }) {
  const prefersDark = useMediaQuery('(prefers-color-scheme: dark)');
  const themeChoice = useSettingsStore((s) => s.theme);
  const mode = resolveTheme(themeChoice, prefersDark);
  const theme = useMemo(() => makeTheme(mode), [mode]);
  const [info, setInfo] = useState<AppInfo | null>(null);

  useEffect(() => {
    const { api } = client;
    void api.getSettings().then((r) => r.ok && useSettingsStore.getState().loaded(r.value));
    void api.info().then((r) => r.ok && setInfo(r.value));
    // The wizard's choices come back after a reload; the job it showed is reattached from the host.
    const unpersist = persistWizard();
    const unsync = startJobSync(client);
    return () => {
      unsync();
      unpersist();
    };
  }, [client]);

  const toggleTheme = () => {
    const next = toggledTheme(themeChoice, prefersDark);
    useSettingsStore.getState().setTheme(next);
    void client.api.setSettings({ theme: next });
  };

  return (
    <ClientContext.Provider value={client}>
      <InfoContext.Provider value={info}>
        <ThemeProvider theme={theme}>
          <CssBaseline />
          <Box sx={{ minHeight: '100vh', display: 'flex', flexDirection: 'column' }} data-testid="app" data-theme={mode}>
            <AppBar position="static" color="default" elevation={0} sx={{ borderBottom: 1, borderColor: 'divider' }}>
              <Toolbar variant="dense" sx={{ gap: 1 }}>
                <Typography variant="h6" component="h1" sx={{ flexGrow: 1, fontSize: 18 }}>
                  Export Studio
                </Typography>
                {info && (
                  <Typography variant="body2" color="text.secondary" data-testid="app-mode">
                    {client.mode === 'mock' ? 'demo data' : info.mode === 'web' ? 'web mode' : 'desktop'} · v{info.version}
                  </Typography>
                )}
                <Tooltip title={mode === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}>
                  <IconButton onClick={toggleTheme} aria-label={mode === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'} data-testid="theme-toggle">
                    {mode === 'dark' ? <LightModeIcon /> : <DarkModeIcon />}
                  </IconButton>
                </Tooltip>
              </Toolbar>
            </AppBar>
            <Box component="main" sx={{ flex: 1, p: { xs: 1.5, md: 3 }, maxWidth: 1280, width: '100%', mx: 'auto' }}>
              <Wizard />
              <Box sx={{ mt: 2 }}>
                <JobsView />
              </Box>
            </Box>
            <DropZone />
          </Box>
        </ThemeProvider>
      </InfoContext.Provider>
    </ClientContext.Provider>
  );
}
