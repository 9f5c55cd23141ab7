import { beforeEach, describe, expect, it } from 'vitest';
import type { JobEventBatch, JobSnapshot } from '../../../shared/api.js';
import { newSnapshot } from '../../../shared/jobs.js';
import { ExportRequestSchema } from '../../../shared/request.js';
import { useJobStore } from './job.js';
import { applyBatch, jobStateFromSnapshot, routeBatch, useJobsStore } from './jobs.js';
import { restoreWizard, serializeWizard } from './persist.js';
import { initialSource, setKey, useSourceStore } from './source.js';
import { useOptionsStore } from './options.js';
import { useWizardStore } from './wizard.js';
import { useImagesStore } from './images.js';

function snap(id: string): JobSnapshot {
  const { key: _k, ...req } = ExportRequestSchema.parse({ model: '/m/a.tlt', key: 'k', outputs: { etlt: '/o/a.etlt' } });
  return { ...newSnapshot(id, req, 0, 1000), status: 'running', startedAt: 1000 };
}

const stage = (seq: number, s: 'write' | 'deepstream', status: 'started' | 'done'): JobEventBatch => ({ jobId: 'j1', seq, events: [{ type: 'stage', stage: s, status, time: 2000 + seq }] });

describe('job registry in the page', () => {
  beforeEach(() => {
    useJobsStore.setState({ jobs: {}, loaded: false });
    useJobStore.getState().reset();
  });

  it('folds batches in order, skips what a snapshot already holds, and ignores unknown jobs', () => {
    let jobs: Record<string, JobSnapshot> = { j1: snap('j1') };
    jobs = applyBatch(jobs, stage(1, 'write', 'started')) ?? jobs;
    jobs = applyBatch(jobs, { jobId: 'j1', seq: 2, events: [{ type: 'log', level: 'info', text: 'hello', time: 3 }] }) ?? jobs;
    expect(jobs.j1?.stages.find((s) => s.id === 'write')?.status).toBe('running');
    expect(jobs.j1?.log.map((l) => l.text)).toEqual(['hello']);
    // A replayed batch (seq ≤ what we hold) changes nothing.
    expect(applyBatch(jobs, { jobId: 'j1', seq: 2, events: [{ type: 'log', level: 'info', text: 'hello', time: 3 }] })).toBe(jobs);
    // State changes: queued → running on a GPU → done.
    jobs = applyBatch(jobs, { jobId: 'j1', seq: 3, events: [], state: { status: 'done', gpu: 1 } }) ?? jobs;
    expect(jobs.j1).toMatchObject({ status: 'done', gpu: 1, seq: 3 });
    expect(jobs.j1?.endedAt).not.toBeNull();
    expect(applyBatch(jobs, { jobId: 'other', seq: 1, events: [] })).toBeNull();
    // An older snapshot does not overwrite a newer state.
    expect(applyBatch(jobs, { jobId: 'j1', events: [], snapshot: { ...snap('j1'), seq: 1 } })).toBe(jobs);
  });

  it('reattaches the wizard from a snapshot and then skips batches the snapshot already held', () => {
    const s = snap('j1');
    s.seq = 5;
    s.stages = s.stages.map((st) => (st.id === 'write' ? { ...st, status: 'done' } : st.id === 'deepstream' ? { ...st, status: 'running' } : st));
    s.log = [{ level: 'info', text: 'line', time: 1 }];
    s.logDropped = 10;
    const js = jobStateFromSnapshot(s);
    expect(js).toMatchObject({ jobId: 'j1', status: 'running', logDropped: 10, nextSeq: 11 });
    expect(js.log[0]?.seq).toBe(10);
    useJobStore.setState(js);
    useJobsStore.getState().loadedList([s]);
    let refreshed = 0;
    // Arrives late, already part of the snapshot: skipped.
    routeBatch({ jobId: 'j1', seq: 5, events: [{ type: 'log', level: 'info', text: 'line', time: 1 }] }, () => refreshed++);
    routeBatch({ jobId: 'j1', events: [], seq: 5, snapshot: s }, () => refreshed++);
    expect(useJobStore.getState().log.map((l) => l.text)).toEqual(['line']);
    routeBatch({ jobId: 'j1', seq: 6, events: [{ type: 'stage', stage: 'deepstream', status: 'done', time: 9 }] }, () => refreshed++);
    expect(useJobStore.getState().stages.find((st) => st.id === 'deepstream')?.status).toBe('done');
    expect(useJobsStore.getState().jobs.j1?.stages.find((st) => st.id === 'deepstream')?.status).toBe('done');
    // A job started in another tab: unknown here, so the page asks the host for the list.
    routeBatch({ jobId: 'new', seq: 1, events: [], state: { status: 'starting', gpu: 0 } }, () => refreshed++);
    expect(refreshed).toBe(1);
  });
});

describe('wizard choices kept across a reload', () => {
  it('stores paths, options and the step, never the key; restores them into fresh stores', () => {
    useSourceStore.getState().update((s) => ({ ...setKey({ ...s, modelPath: '/m/a.tlt', specPath: '/m/spec.txt' }, 'SECRET-canary-77'), checkedKey: 'SECRET-canary-77', keyCheck: { status: 'ok', ms: 3 } }));
    useOptionsStore.getState().setPrecision('int8');
    useOptionsStore.getState().setOutputs({ etlt: '/out/a.etlt', etltEdited: true });
    useImagesStore.setState({ dir: '/cal', selection: { selected: new Set(['i1', 'i2']), anchor: 1 } });
    useWizardStore.setState({ step: 'output', furthest: 'review' });
    const text = serializeWizard();
    expect(text).not.toContain('SECRET-canary-77');
    expect(text).toContain('/out/a.etlt');

    useSourceStore.getState().reset();
    useOptionsStore.getState().reset();
    useImagesStore.getState().reset();
    useWizardStore.getState().restart();
    expect(restoreWizard(text)).toBe(true);
    expect(useSourceStore.getState()).toMatchObject({ modelPath: '/m/a.tlt', specPath: '/m/spec.txt', key: '', checkedKey: null, keyCheck: initialSource().keyCheck });
    expect(useOptionsStore.getState().precision).toBe('int8');
    expect(useOptionsStore.getState().outputs.etlt).toBe('/out/a.etlt');
    expect([...useImagesStore.getState().selection.selected]).toEqual(['i1', 'i2']);
    expect(useWizardStore.getState()).toMatchObject({ step: 'output', furthest: 'review' });
    // Run/Results need a job: restored without one, the wizard shows Review.
    useWizardStore.setState({ step: 'run' });
    expect(restoreWizard(serializeWizard())).toBe(true);
    expect(useWizardStore.getState().step).toBe('review');
    expect(restoreWizard('{not json')).toBe(false);
  });
});
