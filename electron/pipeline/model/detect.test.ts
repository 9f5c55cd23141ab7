import fc from 'fast-check';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioError } from '../../../shared/errors.js';
import { encodeEtltHeader, parseEtltHeader } from './container.js';
import { classifyModelBytes, detectModelFormat } from './detect.js';
import { identityModel } from './synthetic.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'detect-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function put(name: string, bytes: Uint8Array): Promise<string> {
  const p = path.join(dir, name);
  await fs.writeFile(p, bytes);
  return p;
}

async function detectError(name: string, bytes: Uint8Array): Promise<StudioError> {
  const e = await detectModelFormat(await put(name, bytes)).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `${name} should be rejected`).toBeInstanceOf(StudioError);
  return e as StudioError;
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
const ZIP = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(40, 7)]);

describe('model format detection', () => {
  it('recognises plain ONNX by extension and by content', async () => {
    const m = identityModel();
    expect((await detectModelFormat(await put('a.onnx', m))).format).toBe('onnx');
    expect((await detectModelFormat(await put('a.bin', m))).format).toBe('onnx');
    // A plain model renamed .etlt/.tlt is still read as what it is.
    expect((await detectModelFormat(await put('renamed.etlt', m))).format).toBe('onnx');
  });

  it('reads the .etlt header and reports the input name', async () => {
    const body = Buffer.alloc(64, 0xab);
    const d0 = await detectModelFormat(await put('n0.etlt', Buffer.concat([encodeEtltHeader(''), body])));
    expect(d0).toMatchObject({ format: 'etlt', etltInputName: '', payloadOffset: 4 });
    const d1 = await detectModelFormat(await put('named.etlt', Buffer.concat([encodeEtltHeader('Input'), body])));
    expect(d1).toMatchObject({ format: 'etlt', etltInputName: 'Input', payloadOffset: 9 });
    expect((await detectModelFormat(await put('r.tlt', body))).format).toBe('tlt');
  });

  it('gives each broken file its own code', async () => {
    expect((await detectError('empty.onnx', new Uint8Array(0))).code).toBe('E_FILE_EMPTY');
    expect((await detectError('empty.etlt', new Uint8Array(0))).code).toBe('E_FILE_EMPTY');
    expect((await detectError('short.etlt', Buffer.from([0, 0]))).code).toBe('E_FILE_TRUNCATED');
    const noPayload = await detectError('nonce.etlt', Buffer.concat([encodeEtltHeader(''), Buffer.alloc(10)]));
    expect(noPayload.code).toBe('E_FILE_TRUNCATED');
    expect(noPayload.location.offset).toBe(4);
    expect((await detectError('short.tlt', Buffer.alloc(16, 1))).code).toBe('E_FILE_TRUNCATED');

    const negative = await detectError('neg.etlt', Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.alloc(40, 1)]));
    expect(negative.code).toBe('E_ETLT_HEADER');
    expect(negative.message).toMatch(/byte 0 reads -1/);
    expect(negative.location.offset).toBe(0);
    const tooLong = Buffer.alloc(60, 0x41);
    tooLong.writeInt32LE(500, 0);
    const past = await detectError('past.etlt', tooLong);
    expect(past.code).toBe('E_ETLT_HEADER');
    expect(past.message).toMatch(/says 500 bytes but the file has only 56/);
    const badName = Buffer.concat([Buffer.from([2, 0, 0, 0, 0xc3, 0x28]), Buffer.alloc(40)]);
    expect((await detectError('name.etlt', badName)).location.offset).toBe(4);
  });

  it('names what a non-ONNX .onnx looks like', async () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['png.onnx', PNG, /PNG image/],
      ['jpeg.onnx', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]), /JPEG image/],
      ['zip.onnx', ZIP, /ZIP archive/],
      ['gz.onnx', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), /gzip/],
      ['h5.onnx', Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0]), /HDF5/],
      ['spec.onnx', Buffer.from('seed: 123\nmaskrcnn_config {\n  nlayers: 50\n}\n'), /text file/],
    ];
    for (const [name, bytes, what] of cases) {
      const e = await detectError(name, bytes);
      expect(e.code, name).toBe('E_NOT_ONNX');
      expect(e.message, name).toMatch(what);
    }
    const random = await detectError('random.onnx', Buffer.from([0x07, 0x99, 0x12, 0x33, 0x00, 0xfe, 0x77]));
    expect(random.code).toBe('E_NOT_ONNX');
    expect(random.hint).toMatch(/\.etlt or \.tlt/);
  });

  it('tells a cut-off ONNX model from a non-ONNX file', async () => {
    const m = identityModel();
    const e = await detectError('cut.onnx', m.subarray(0, 30));
    expect(e.code).toBe('E_FILE_TRUNCATED');
    expect(e.message).toMatch(/cut-off ONNX model/);
  });

  it('explains that a ZIP .tlt is a TAO training checkpoint, not ONNX', async () => {
    const e = await detectError('model.epoch-10.tlt', ZIP);
    expect(e.code).toBe('E_NOT_ONNX');
    expect(e.message).toMatch(/TensorFlow checkpoint files \(a \.tlt from TAO training\)/);
    expect(e.hint).toMatch(/export/i);
    expect(e.details).toMatchObject({ detected: 'tao-checkpoint-zip' });
  });

  it('refuses an unknown extension with unrecognisable content', async () => {
    const e = await detectError('weights.pth', PNG);
    expect(e.code).toBe('E_UNKNOWN_FORMAT');
    expect(e.message).toMatch(/PNG/);
  });

  it('maps a missing file and a folder to input errors', async () => {
    await expect(detectModelFormat(path.join(dir, 'nope.onnx'))).rejects.toMatchObject({ code: 'E_FILE_NOT_FOUND' });
    await expect(detectModelFormat(dir)).rejects.toMatchObject({ code: 'E_FILE_UNREADABLE' });
  });

  it('round-trips the .etlt header', () => {
    for (const name of ['', 'Input', 'изображение']) {
      const h = encodeEtltHeader(name);
      expect(parseEtltHeader(Buffer.concat([h, Buffer.alloc(20)]), h.length + 20)).toEqual({ inputName: name, payloadOffset: h.length });
    }
    expect(() => encodeEtltHeader('x'.repeat(2000))).toThrow(StudioError);
  });

  it('never throws anything but a StudioError on arbitrary bytes and names', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('m.onnx', 'm.etlt', 'm.tlt', 'm.bin', 'M.ETLT', 'noext'), fc.nat({ max: 1 << 30 }), (bytes, name, extra) => {
        try {
          classifyModelBytes(name, bytes, bytes.length + (extra % 3 === 0 ? 0 : extra));
        } catch (e) {
          expect(e).toBeInstanceOf(StudioError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
