import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioError } from '../../../shared/errors.js';
import { expandFilePattern, resolvePattern, segmentRegExp } from './glob.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'glob-test-'));
  const files = [
    'data/train-00000-of-00003.tfrecord',
    'data/train-00001-of-00003.tfrecord',
    'data/train-00002-of-00003.tfrecord',
    'data/val-00000-of-00001.tfrecord',
    'data/.hidden.tfrecord',
    'data/Train-upper.tfrecord',
    'data/a[1].tfrecord',
    'shards/a/part-1.tfrecord',
    'shards/b/part-2.tfrecord',
    'shards/c/other.txt',
  ];
  for (const f of files) {
    await mkdir(path.dirname(path.join(root, f)), { recursive: true });
    await writeFile(path.join(root, f), '');
  }
  await mkdir(path.join(root, 'data/train-dir.tfrecord'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const rel = (files: string[]): string[] => files.map((f) => path.relative(root, f).split(path.sep).join('/'));

describe('segmentRegExp (TF Glob syntax)', () => {
  it.each([
    ['*.tfrecord', 'x.tfrecord', true],
    ['*.tfrecord', 'x.tfrecord.gz', false],
    ['train-?????-of-*', 'train-00001-of-00003', true],
    ['train-?????-of-*', 'train-0001-of-00003', false],
    ['[abc]x', 'bx', true],
    ['[abc]x', 'dx', false],
    ['[a-c]x', 'cx', true],
    ['[^a-c]x', 'dx', true],
    ['[!a-c]x', 'ax', false],
    ['[]]x', ']x', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['a.b+c(d)', 'a.b+c(d)', true],
    ['a.b', 'axb', false],
    ['[unclosed', '[unclosed', true],
    ['**', 'anything', true],
  ])('%s vs %s → %s', (pat, name, expected) => {
    expect(segmentRegExp(pat, true).test(name)).toBe(expected);
  });
});

describe('expandFilePattern', () => {
  it('matches files in sorted order and ignores directories', async () => {
    expect(rel(await expandFilePattern('data/train-*.tfrecord', root))).toEqual([
      'data/train-00000-of-00003.tfrecord',
      'data/train-00001-of-00003.tfrecord',
      'data/train-00002-of-00003.tfrecord',
    ]);
  });

  it('is case-sensitive and * matches dot-files like TF', async () => {
    expect(rel(await expandFilePattern('data/*.tfrecord', root))).toEqual([
      'data/.hidden.tfrecord',
      'data/Train-upper.tfrecord',
      'data/a[1].tfrecord',
      'data/train-00000-of-00003.tfrecord',
      'data/train-00001-of-00003.tfrecord',
      'data/train-00002-of-00003.tfrecord',
      'data/val-00000-of-00001.tfrecord',
    ]);
  });

  it('expands wildcards in directory segments', async () => {
    expect(rel(await expandFilePattern(path.join(root, 'shards/*/part-?.tfrecord'), '/elsewhere'))).toEqual(['shards/a/part-1.tfrecord', 'shards/b/part-2.tfrecord']);
    expect(rel(await expandFilePattern('shards/[ab]/*', root))).toEqual(['shards/a/part-1.tfrecord', 'shards/b/part-2.tfrecord']);
  });

  it('takes a literal path (no wildcards) as is, and escaped brackets literally', async () => {
    expect(rel(await expandFilePattern('data/val-00000-of-00001.tfrecord', root))).toEqual(['data/val-00000-of-00001.tfrecord']);
    if (path.sep === '/') expect(rel(await expandFilePattern('data/a\\[1\\].tfrecord', root))).toEqual(['data/a[1].tfrecord']);
  });

  it('resolves relative patterns against the spec directory; absolute ones are kept', () => {
    expect(resolvePattern('tfrecords/train*', '/specs/exp1')).toBe(path.resolve('/specs/exp1/tfrecords/train*'));
    expect(resolvePattern('/data/train*', '/specs/exp1')).toBe(path.normalize('/data/train*'));
  });

  it('no match → E_TFRECORD_NOT_FOUND naming the pattern and listing what is there', async () => {
    let e: unknown;
    try {
      await expandFilePattern('data/test-*.tfrecord', root);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(StudioError);
    const se = e as StudioError;
    expect(se.code).toBe('E_TFRECORD_NOT_FOUND');
    expect(se.message).toContain('data/test-*.tfrecord');
    expect(se.hint).toContain(path.join(root, 'data'));
    expect(se.hint).toContain('train-00000-of-00003.tfrecord');
    expect(se.hint).toMatch(/spec's directory/);
  });

  it('missing directory → the hint names the deepest directory and what it holds', async () => {
    const se = (await expandFilePattern('nodir/sub/*.tfrecord', root).catch((e: unknown) => e)) as StudioError;
    expect(se.code).toBe('E_TFRECORD_NOT_FOUND');
    expect(se.hint).toContain(`Nothing in ${root} matches "nodir"`);
    const abs = (await expandFilePattern('/definitely/not/here/*.tfrecord', root).catch((e: unknown) => e)) as StudioError;
    expect(abs.hint).toMatch(/Nothing in \/ matches "definitely"/);
    expect(abs.hint).not.toMatch(/spec's directory/);
  });

  it('an empty pattern is an error', async () => {
    await expect(expandFilePattern('  ', root)).rejects.toMatchObject({ code: 'E_TFRECORD_NOT_FOUND' });
  });
});
