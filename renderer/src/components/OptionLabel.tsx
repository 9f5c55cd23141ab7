import { Typography } from '@mui/material';
import type { ReactNode } from 'react';

/** A choice's label followed by its explanation in secondary text: "Label — detail". */
export function OptionLabel({ label, detail }: { label: ReactNode; detail: ReactNode }) {
  return (
    <span>
      {label}{' '}
      <Typography component="span" variant="body2" color="text.secondary">
        — {detail}
      </Typography>
    </span>
  );
}
