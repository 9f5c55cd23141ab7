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
      MuiPaper: { defaultProps: { variant: 'outlined' } },
    },
  });
}

export const MONO = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace';
