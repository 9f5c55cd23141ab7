import { createTheme, type Theme } from '@mui/material/styles';

export function makeTheme(mode: 'light' | 'dark'): Theme {
  const dark = mode === 'dark';
  return createTheme({
    palette: {
      mode,
      primary: { main: dark ? '#76b900' : '#4a7a00' },
      secondary: { main: dark ? '#8ab4f8' : '#1a5fb4' },
      background: dark ? { default: '#121417', paper: '#1b1e22' } : { default: '#f4f6f8', paper: '#ffffff' },
    },
    shape: { borderRadius: 8 },
    typography: {
      fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
      h5: { fontWeight: 600 },
      h6: { fontWeight: 600 },
    },
    components: {
      MuiCssBaseline: {
        styleOverrides: {
          // A visible focus ring for keyboard users on every control (MUI's ripple alone is faint).
          ':focus-visible': { outline: `2px solid ${dark ? '#8ab4f8' : '#1a5fb4'}`, outlineOffset: 2 },
          code: { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' },
          pre: { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' },
        },
      },
      MuiButtonBase: { defaultProps: { disableRipple: false } },
      // Contained buttons: the global 2px ring disappears against their fill; a thicker ring with a
      // halo stays visible in both themes (issue 12).
      MuiButton: {
        styleOverrides: {
          root: {
            '&.Mui-focusVisible': { outline: `3px solid ${dark ? '#8ab4f8' : '#1a5fb4'}`, outlineOffset: 3, boxShadow: `0 0 0 6px ${dark ? 'rgba(138,180,248,0.35)' : 'rgba(26,95,180,0.25)'}` },
          },
        },
      },
      MuiPaper: { defaultProps: { variant: 'outlined' } },
    },
  });
}

export const MONO = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace';
