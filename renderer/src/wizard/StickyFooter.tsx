import type { ReactNode } from 'react';
import { Box } from '@mui/material';

/** A step's Back / Next / Start / Cancel row, kept in view at the bottom of the window (1024×700 too). */
export function StickyFooter({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <Box
      data-testid={testId}
      sx={{
        position: 'sticky',
        bottom: 0,
        zIndex: 2,
        display: 'flex',
        gap: 1,
        alignItems: 'center',
        flexWrap: 'wrap',
        mt: 3,
        mx: { xs: -2, md: -3 },
        px: { xs: 2, md: 3 },
        py: 1.5,
        bgcolor: 'background.paper',
        backgroundImage: 'var(--Paper-overlay)',
        borderTop: 1,
        borderColor: 'divider',
      }}
    >
      {children}
    </Box>
  );
}
