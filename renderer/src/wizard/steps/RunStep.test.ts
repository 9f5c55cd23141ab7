import { beforeEach, describe, expect, it } from 'vitest';
import type { JobSnapshot } from '../../../../shared/api.js';
import { newSnapshot } from '../../../../shared/jobs.js';
import { ExportRequestSchema } from '../../../../shared/request.js';
import { useJobStore } from '../../store/job.js';
import { jobStateFromSnapshot, routeBatch, useJobsStore } from '../../store/jobs.js';
import { runPhase, shownEta, statusText } from './RunStep.js';

function snap(id: string, model: string, gpu: number | 'cpu' | null): JobSnapshot {
  const { key: _k, ...req } = ExportRequestSchema.parse({ model, key: 'k', outputs: { etlt: `/o/${id}.etlt` } });
  return newSnapshot(id, req, gpu, 1000);
}

/** What the Run step shows above its progress bar, from the stores the component reads. */
const shown = () => ({ phase: runPhase(useJobStore.getState()), text: statusText(useJobStore.getState(), useJobsStore.getState().jobs) });

describe('Run step: a job the host has queued', () => {
  beforeEach(() => {
    useJobsStore.setState({ jobs: {}, loaded: false });
    useJobStore.getState().reset();
  });

  it('is shown as queued with the device and the jobs it waits for, not as running; then running once it starts', () => {
    const busy: JobSnapshot = { ...snap('busy', '/m/first.tlt', 0), status: 'running', startedAt: 1000 };
    const mine: JobSnapshot = { ...snap('mine', '/m/second.tlt', 0), waitingFor: ['busy'] };
    useJobsStore.getState().loadedList([busy, mine]);
    useJobStore.getState().starting();
    useJobStore.getState().begin('mine');
    let refreshed = 0;
    // The host's state-only batch (no events) reaches the wizard's job.
    routeBatch({ jobId: 'mine', seq: 1, events: [], state: { status: 'queued', gpu: 0, waitingFor: ['busy'] } }, () => refreshed++);
    expect(refreshed).toBe(0);
    expect(shown()).toEqual({ phase: 'queued', text: 'Queued: waiting for GPU 0 (first.tlt)' });
    // Still cancellable: the store keeps it a live job.
    expect(useJobStore.getState().status).toBe('running');

    // Its GPU frees up: starting, then the first stage.
    routeBatch({ jobId: 'mine', seq: 2, events: [], state: { status: 'starting', gpu: 0 } }, () => refreshed++);
    expect(shown().phase).toBe('running');
    routeBatch({ jobId: 'mine', seq: 3, events: [{ type: 'stage', stage: 'validate', status: 'started', time: 2000 }], state: { status: 'running', gpu: 0 } }, () => refreshed++);
    expect(shown()).toEqual({ phase: 'running', text: 'Check request' });
  });

  it('a queued job reattached from the host snapshot (reload, second tab) is shown queued; pool and CPU jobs say what they wait for', () => {
    const pool: JobSnapshot = { ...snap('pool', '/m/third.tlt', null), waitingFor: [] };
    useJobsStore.getState().loadedList([pool]);
    useJobStore.setState(jobStateFromSnapshot(pool));
    expect(shown()).toEqual({ phase: 'queued', text: 'Queued: waiting for a free GPU' });
    useJobStore.setState(jobStateFromSnapshot(snap('cpu', '/m/fourth.tlt', 'cpu')));
    expect(shown()).toEqual({ phase: 'queued', text: 'Queued: waiting for a CPU slot' });
    // A running snapshot is not queued.
    useJobStore.setState(jobStateFromSnapshot({ ...snap('run', '/m/fifth.tlt', 1), status: 'running' }));
    expect(shown().phase).toBe('running');
  });
});

describe('Run step: progress text', () => {
  beforeEach(() => {
    useJobsStore.setState({ jobs: {}, loaded: false });
    useJobStore.getState().reset();
  });

  it('a stage planned in seconds of work (INT8 check) shows its percentage and ETA, no rate; a counted stage its units and rate', () => {
    useJobStore.getState().starting();
    useJobStore.getState().begin('j');
    const batch = (seq: number, events: Parameters<typeof routeBatch>[0]['events']) => routeBatch({ jobId: 'j', seq, events }, () => undefined);
    batch(1, [
      { type: 'stage', stage: 'fidelity', status: 'started', time: 1000 },
      { type: 'progress', stage: 'fidelity', done: 45, total: 100, unit: '%', eta: 12 },
    ]);
    const text = shown().text;
    expect(text).toMatch(/: 45 % · ETA /);
    expect(text).not.toMatch(/\/s|100/);
    batch(2, [
      { type: 'stage', stage: 'fidelity', status: 'done', time: 2000 },
      { type: 'stage', stage: 'calibrate', status: 'started', time: 2000 },
      { type: 'progress', stage: 'calibrate', done: 3, total: 10, unit: 'batches', rate: 1.5, eta: 4.7 },
    ]);
    expect(shown().text).toMatch(/: 3 \/ 10 batches · 1\.50 batches\/s · ETA /);
  });
});

describe('the ETA counts down between progress events', () => {
  it('shows the last estimate less the time since it arrived, never below zero', () => {
    const p = { stage: 'fidelity' as const, done: 40, total: 100, unit: '%', eta: 30, etaAt: 10_000 };
    expect(shownEta(p, 10_000)).toBe(30);
    expect(shownEta(p, 22_500)).toBe(17.5);
    expect(shownEta(p, 60_000)).toBe(0);
    expect(shownEta({ ...p, eta: undefined } as never, 12_000)).toBeUndefined();
    expect(shownEta(null, 12_000)).toBeUndefined();
  });
});
