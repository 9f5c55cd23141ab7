import { useState } from 'react';
import { Button, IconButton, Tooltip } from '@mui/material';
import ContentCopyIcon from '@mui/icons-material/ContentCopy';
import CheckIcon from '@mui/icons-material/Check';
import { copyText } from './copy.js';

interface Props {
  text: string | (() => string);
  label: string;
  /** Icon-only (the label becomes the accessible name and tooltip). */
  icon?: boolean;
  testId?: string;
  size?: 'small' | 'medium';
}

export function CopyButton({ text, label, icon, testId, size = 'small' }: Props) {
  const [copied, setCopied] = useState(false);
  const onClick = async () => {
    const ok = await copyText(typeof text === 'function' ? text() : text);
    setCopied(ok);
    if (ok) setTimeout(() => setCopied(false), 1500);
  };
  if (icon) {
    return (
      <Tooltip title={copied ? 'Copied' : label}>
        <IconButton size={size} aria-label={label} onClick={() => void onClick()} data-testid={testId}>
          {copied ? <CheckIcon fontSize="inherit" /> : <ContentCopyIcon fontSize="inherit" />}
        </IconButton>
      </Tooltip>
    );
  }
  return (
    <Button size={size} variant="outlined" startIcon={copied ? <CheckIcon /> : <ContentCopyIcon />} onClick={() => void onClick()} data-testid={testId} aria-label={label}>
      {copied ? 'Copied' : label}
    </Button>
  );
}
