import { useEffect, useMemo, useRef, useState } from 'react';
import { Box, Button, Stack, TextField, ToggleButton, ToggleButtonGroup, Typography } from '@mui/material';
import SaveAltIcon from '@mui/icons-material/SaveAlt';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { LogLevel } from '../../../shared/events.js';
import { filterLog, formatLogLines, type LogLine } from '../store/job.js';
import { MONO } from '../app/theme.js';
import { CopyButton } from '../components/CopyButton.js';
import { downloadText } from '../components/copy.js';

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];
const ROW = 20;
const LEVEL_COLOR: Record<LogLevel, string> = { debug: 'text.disabled', info: 'text.primary', warn: 'warning.main', error: 'error.main' };

/** Live job log: virtualized rows, level and text filters, follows the tail unless scrolled up. */
export function LogView({ lines, dropped, height = 320 }: { lines: readonly LogLine[]; dropped: number; height?: number }) {
  const [levels, setLevels] = useState<LogLevel[]>(['info', 'warn', 'error']);
  const [text, setText] = useState('');
  const shown = useMemo(() => filterLog(lines, { levels: new Set(levels), text }), [lines, levels, text]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const follow = useRef(true);
  // Rows are measured: a long line wraps onto several rows instead of running off to the right.
  const virt = useVirtualizer({ count: shown.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW, overscan: 20, getItemKey: (i) => shown[i]?.seq ?? i });

  useEffect(() => {
    if (follow.current && shown.length > 0) virt.scrollToIndex(shown.length - 1, { align: 'end' });
  }, [shown.length, virt]);

  return (
    <Stack spacing={1} data-testid="run-log">
      <Stack direction="row" spacing={1} useFlexGap sx={{ flexWrap: 'wrap', alignItems: 'center' }}>
        <ToggleButtonGroup size="small" color="primary" value={levels} onChange={(_, v: LogLevel[]) => setLevels(v)} aria-label="Log levels shown">
          {LEVELS.map((l) => (
            <ToggleButton key={l} value={l} aria-label={`Show ${l}`} data-testid={`log-level-${l}`}>
              {l}
            </ToggleButton>
          ))}
        </ToggleButtonGroup>
        <TextField size="small" label="Filter log" value={text} onChange={(e) => setText(e.target.value)} sx={{ width: 220 }} slotProps={{ htmlInput: { 'data-testid': 'log-filter' } }} />
        <Box sx={{ flex: 1 }} />
        <Typography variant="body2" color="text.secondary" data-testid="log-count">
          {shown.length.toLocaleString()} of {(lines.length + dropped).toLocaleString()} lines
        </Typography>
        <CopyButton text={() => formatLogLines(shown)} label="Copy log" testId="log-copy" />
        <Button size="small" variant="outlined" startIcon={<SaveAltIcon />} onClick={() => downloadText('export-studio.log', formatLogLines(lines))} data-testid="log-save">
          Save log
        </Button>
      </Stack>
      <Box
        ref={scrollRef}
        onScroll={(e) => {
          const el = e.currentTarget;
          follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < ROW * 2;
        }}
        role="log"
        aria-label="Export log"
        aria-live="off"
        tabIndex={0}
        data-testid="run-log-lines"
        sx={{ height, overflow: 'auto', fontFamily: MONO, fontSize: 12.5, border: 1, borderColor: 'divider', borderRadius: 1, bgcolor: 'action.hover' }}
      >
        <Box sx={{ height: virt.getTotalSize(), position: 'relative' }}>
          {virt.getVirtualItems().map((v) => {
            const l = shown[v.index];
            if (!l) return null;
            return (
              <Box
                key={l.seq}
                ref={virt.measureElement}
                data-index={v.index}
                data-level={l.level}
                sx={{ position: 'absolute', top: 0, left: 0, right: 0, minHeight: ROW, lineHeight: `${ROW}px`, transform: `translateY(${v.start}px)`, px: 1, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere', color: LEVEL_COLOR[l.level] }}
              >
                <Box component="span" sx={{ color: 'text.secondary' }}>
                  {new Date(l.time).toLocaleTimeString()}{' '}
                </Box>
                <Box component="span" sx={{ display: 'inline-block', width: 48, fontWeight: l.level === 'error' || l.level === 'warn' ? 700 : 400 }}>
                  {l.level}
                </Box>
                {l.text}
              </Box>
            );
          })}
        </Box>
      </Box>
    </Stack>
  );
}
