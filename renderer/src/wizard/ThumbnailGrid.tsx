import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { Box, Typography } from '@mui/material';
import CheckCircleIcon from '@mui/icons-material/CheckCircle';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { ImageEntry } from '../../../shared/api.js';

const TILE_W = 132;
const TILE_H = 124;
const GAP = 8;

interface Props {
  images: readonly ImageEntry[];
  selected: ReadonlySet<string>;
  /** Images that cannot be decoded: marked, never selected. */
  unreadable?: ReadonlySet<string>;
  onUnreadable?(id: string): void;
  focusedId: string | null;
  thumbnailUrl(id: string): string;
  onToggle(index: number, shift: boolean): void;
  onFocus(index: number): void;
  height?: number;
}

/**
 * Virtualized thumbnail grid (rows are virtual, so thousands of images cost a few dozen DOM
 * nodes). One tab stop: arrows move the focus, Space/Enter toggle, Shift extends a range.
 */
export function ThumbnailGrid({ images, selected, unreadable, onUnreadable, focusedId, thumbnailUrl, onToggle, onFocus, height = 420 }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const cols = Math.max(1, Math.floor((width - GAP) / (TILE_W + GAP)));
  // Stretch tiles so the columns fill the row.
  const tileW = Math.max(TILE_W, Math.floor((width - GAP * (cols + 1)) / cols));
  const rows = Math.ceil(images.length / cols);
  const virt = useVirtualizer({ count: rows, getScrollElement: () => scrollRef.current, estimateSize: () => TILE_H + GAP, overscan: 3 });
  const focusIndex = Math.max(
    0,
    images.findIndex((i) => i.id === focusedId),
  );

  useEffect(() => {
    if (images.length > 0) virt.scrollToIndex(Math.floor(focusIndex / cols), { align: 'auto' });
  }, [focusIndex, cols, images.length, virt]);

  const onKeyDown = (e: KeyboardEvent) => {
    const move: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, PageDown: cols * 3, PageUp: -cols * 3 };
    const d = move[e.key];
    if (d !== undefined) {
      e.preventDefault();
      const i = Math.min(images.length - 1, Math.max(0, focusIndex + d));
      onFocus(i);
      if (e.shiftKey) onToggle(i, true);
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      onFocus(e.key === 'Home' ? 0 : images.length - 1);
    } else if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      onToggle(focusIndex, e.shiftKey);
    }
  };

  if (images.length === 0) {
    return (
      <Box sx={{ height: 120, display: 'grid', placeItems: 'center', border: 1, borderColor: 'divider', borderRadius: 2 }}>
        <Typography color="text.secondary">No images match.</Typography>
      </Box>
    );
  }

  const activeId = `thumb-tile-${focusIndex}`;
  return (
    <Box
      ref={scrollRef}
      role="listbox"
      aria-multiselectable="true"
      aria-label="Calibration images"
      aria-activedescendant={activeId}
      tabIndex={0}
      onKeyDown={onKeyDown}
      data-testid="thumb-grid"
      sx={{ height, overflow: 'auto', border: 1, borderColor: 'divider', borderRadius: 2, position: 'relative', '&:focus-visible': { outline: 2, outlineColor: 'secondary.main' } }}
    >
      <Box sx={{ height: virt.getTotalSize(), position: 'relative' }}>
        {virt.getVirtualItems().map((row) => (
          <Box key={row.key} sx={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${row.start}px)`, display: 'flex', gap: `${GAP}px`, px: `${GAP}px`, pt: `${GAP}px` }}>
            {Array.from({ length: cols }, (_, c) => {
              const index = row.index * cols + c;
              const img = images[index];
              if (!img) return null;
              const isSel = selected.has(img.id);
              const bad = unreadable?.has(img.id) ?? false;
              const isFocus = index === focusIndex;
              return (
                <Box
                  key={img.id}
                  id={`thumb-tile-${index}`}
                  role="option"
                  aria-selected={isSel}
                  aria-label={bad ? `${img.name} (unreadable)` : img.name}
                  aria-disabled={bad || undefined}
                  data-testid={`thumb-${index}`}
                  data-selected={isSel}
                  data-unreadable={bad || undefined}
                  onMouseDown={(e) => e.preventDefault() /* keep focus on the grid, no text selection on shift-click */}
                  onClick={(e) => {
                    onFocus(index);
                    onToggle(index, e.shiftKey);
                    scrollRef.current?.focus();
                  }}
                  sx={{
                    width: tileW,
                    height: TILE_H,
                    flexShrink: 0,
                    borderRadius: 1.5,
                    overflow: 'hidden',
                    cursor: 'pointer',
                    position: 'relative',
                    border: 2,
                    borderColor: isSel ? 'primary.main' : 'transparent',
                    outline: isFocus ? 2 : 0,
                    outlineColor: 'secondary.main',
                    outlineStyle: isFocus ? 'dashed' : 'none',
                    outlineOffset: 1,
                    bgcolor: 'action.hover',
                    opacity: isSel ? 1 : 0.55,
                  }}
                >
                  {bad ? (
                    <Box sx={{ height: 96, display: 'grid', placeItems: 'center', color: 'error.main', textAlign: 'center', px: 0.5 }}>
                      <Typography variant="caption" sx={{ fontWeight: 600 }}>
                        Unreadable — not used
                      </Typography>
                    </Box>
                  ) : (
                    <img src={thumbnailUrl(img.id)} alt="" loading="lazy" decoding="async" draggable={false} onError={() => onUnreadable?.(img.id)} style={{ width: '100%', height: 96, objectFit: 'cover', display: 'block' }} />
                  )}
                  <Typography variant="caption" noWrap component="div" sx={{ px: 0.5, lineHeight: '24px' }} title={img.name}>
                    {img.name}
                  </Typography>
                  {isSel && <CheckCircleIcon color="primary" sx={{ position: 'absolute', top: 4, right: 4, bgcolor: 'background.paper', borderRadius: '50%', fontSize: 20 }} />}
                </Box>
              );
            })}
          </Box>
        ))}
      </Box>
    </Box>
  );
}
