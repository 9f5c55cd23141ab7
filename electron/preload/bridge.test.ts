import { describe, expect, it, vi } from 'vitest';
import type { JobEventBatch, StudioApi } from '../../shared/api.js';
import { INVOKE_CHANNELS, JOB_EVENTS_CHANNEL } from '../../shared/ipc-channels.js';
import { WEB_METHODS } from '../../shared/web-protocol.js';
import { createBridge, type IpcRendererLike } from './bridge.js';

function fakeIpc() {
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  const invoked: [string, unknown[]][] = [];
  const ipc: IpcRendererLike = {
    invoke: vi.fn(async (channel: string, ...args: unknown[]) => {
      invoked.push([channel, args]);
      if (channel === INVOKE_CHANNELS.gpus) throw new Error('channel closed');
      return { ok: true, value: channel };
    }),
    on: (c, l) => void (listeners.get(c) ?? listeners.set(c, new Set()).get(c)!).add(l),
    removeListener: (c, l) => void listeners.get(c)?.delete(l),
  };
  const emit = (c: string, ...args: unknown[]) => {
    for (const l of listeners.get(c) ?? []) l({ sender: 'the IpcRendererEvent', ports: [] }, ...args);
  };
  return { ipc, invoked, emit, listeners };
}

/** Every StudioApi member the bridge must implement (a compile error if StudioApi grows and this list does not). */
const API_MEMBERS = Object.keys({
  info: 0, gpus: 0, pickPath: 0, browse: 0, inspectModel: 0, parseSpec: 0, listImages: 0, thumbnailUrl: 0, previewTensor: 0,
  commandFor: 0, planOutputs: 0, startExport: 0, cancelJob: 0, listJobs: 0, clearJobs: 0, onJobEvents: 0, getSettings: 0, setSettings: 0, recentFiles: 0, addRecentFile: 0,
  storeKey: 0, loadKey: 0, openFolder: 0, preflight: 0, makeDir: 0,
} satisfies Record<keyof StudioApi, 0>);

describe('preload bridge (window.studio)', () => {
  it('implements every StudioApi method plus pathForFile, all functions, nothing of ipcRenderer', () => {
    const b = createBridge(fakeIpc().ipc, { getPathForFile: () => '/x' });
    expect(Object.keys(b).sort()).toEqual([...API_MEMBERS, 'pathForFile'].sort());
    for (const v of Object.values(b)) expect(typeof v).toBe('function');
    expect(Object.values(b)).not.toContain(fakeIpc().ipc);
  });

  it('invokes each method on its own typed channel with its arguments, dropping trailing undefined', async () => {
    const f = fakeIpc();
    const b = createBridge(f.ipc, { getPathForFile: () => '' });
    for (const m of WEB_METHODS) {
      const r = await (b[m] as (...a: unknown[]) => Promise<unknown>)('a', undefined, undefined);
      if (m === 'gpus') expect(r).toMatchObject({ ok: false, error: { code: 'E_INTERNAL', details: { method: 'gpus' } } });
      else expect(r).toEqual({ ok: true, value: INVOKE_CHANNELS[m] });
    }
    expect(f.invoked.map(([c]) => c)).toEqual(WEB_METHODS.map((m) => INVOKE_CHANNELS[m]));
    for (const [, args] of f.invoked) expect(args).toEqual(['a']);
    await b.pickPath('model', undefined);
    expect(f.invoked.at(-1)).toEqual([INVOKE_CHANNELS.pickPath, ['model']]);
  });

  it('delivers job batches without the IPC event, ignores junk, and unsubscribes', () => {
    const f = fakeIpc();
    const b = createBridge(f.ipc, { getPathForFile: () => '' });
    const got: unknown[][] = [];
    const off = b.onJobEvents((...args: unknown[]) => got.push(args));
    const batch: JobEventBatch = { jobId: 'j', events: [{ type: 'log', level: 'info', text: 'hi', time: 1 }] };
    f.emit(JOB_EVENTS_CHANNEL, batch);
    f.emit(JOB_EVENTS_CHANNEL, 'junk');
    f.emit(JOB_EVENTS_CHANNEL, { jobId: 3, events: [] });
    expect(got).toEqual([[batch]]);
    off();
    expect(f.listeners.get(JOB_EVENTS_CHANNEL)?.size).toBe(0);
    f.emit(JOB_EVENTS_CHANNEL, batch);
    expect(got).toHaveLength(1);
  });

  it('builds thumbnail URLs synchronously and maps dropped files to paths', () => {
    const b = createBridge(fakeIpc().ipc, {
      getPathForFile: (file) => {
        if (file.name === 'bad') throw new TypeError('not a File');
        return file.name === 'mem' ? '' : `/data/${file.name}`;
      },
    });
    expect(b.thumbnailUrl('Ab_9', 96)).toBe('studio-thumb://image/Ab_9?size=96');
    expect(b.thumbnailUrl('a/../b')).toBe('studio-thumb://image/a%2F..%2Fb');
    expect(b.pathForFile(new File(['x'], 'model.onnx'))).toBe('/data/model.onnx');
    expect(b.pathForFile(new File(['x'], 'mem'))).toBe('');
    expect(b.pathForFile(new File(['x'], 'bad'))).toBe('');
  });
});
