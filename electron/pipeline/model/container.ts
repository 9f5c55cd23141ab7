import { StudioError } from '../../../shared/errors.js';
import { NONCE_BYTES } from './cipher.js';

/** The three model containers we read. */
export type ModelFormat = 'onnx' | 'tlt' | 'etlt';
export type SealedFormat = Exclude<ModelFormat, 'onnx'>;

/**
 * .etlt layout: int32 little-endian N, N bytes of input tensor name (UTF-8), then the sealed
 * payload. TAO writes names such as "Input" for UFF models; N = 0 marks an ONNX payload, which is
 * what we write. Names longer than this are treated as a corrupt header, not a name.
 */
export const MAX_ETLT_NAME_BYTES = 1024;
export const ETLT_LENGTH_BYTES = 4;

export interface EtltHeader {
  inputName: string;
  /** Where the sealed payload (nonce first) starts. */
  payloadOffset: number;
}

export function encodeEtltHeader(inputName = ''): Buffer {
  const name = Buffer.from(inputName, 'utf8');
  if (name.length > MAX_ETLT_NAME_BYTES) {
    throw new StudioError('E_USAGE', `Input name is ${name.length} bytes; an .etlt header allows at most ${MAX_ETLT_NAME_BYTES}`, 'Use the model input tensor name, e.g. "Input", or leave it empty for ONNX.');
  }
  const head = Buffer.alloc(ETLT_LENGTH_BYTES);
  head.writeInt32LE(name.length, 0);
  return Buffer.concat([head, name]);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parse the .etlt header from the first bytes of a file of `fileSize` bytes. Throws StudioError. */
export function parseEtltHeader(head: Uint8Array, fileSize: number, file?: string): EtltHeader {
  if (fileSize < ETLT_LENGTH_BYTES || head.length < ETLT_LENGTH_BYTES) {
    throw new StudioError('E_FILE_TRUNCATED', `The .etlt file is ${fileSize} bytes: too short for its 4-byte header`, 'The file was cut off (interrupted copy or download). Copy or export it again.', { file, offset: 0 });
  }
  const n = Buffer.from(head.buffer, head.byteOffset, head.length).readInt32LE(0);
  if (n < 0 || n > MAX_ETLT_NAME_BYTES) {
    throw new StudioError(
      'E_ETLT_HEADER',
      `Invalid .etlt header: the input-name length at byte 0 reads ${n} (expected 0..${MAX_ETLT_NAME_BYTES})`,
      'This is not an .etlt container, or its first bytes are damaged. If it is a plain ONNX model, name it .onnx; if it is a sealed model without header, name it .tlt.',
      { file, offset: 0 },
      { details: { nameLength: n } },
    );
  }
  if (ETLT_LENGTH_BYTES + n > fileSize) {
    throw new StudioError('E_ETLT_HEADER', `Invalid .etlt header: the input-name length at byte 0 says ${n} bytes but the file has only ${fileSize - ETLT_LENGTH_BYTES} after it`, 'The file is truncated or not an .etlt container. Copy or export it again.', { file, offset: 0 }, { details: { nameLength: n } });
  }
  let inputName: string;
  try {
    inputName = utf8.decode(head.subarray(ETLT_LENGTH_BYTES, ETLT_LENGTH_BYTES + n));
  } catch {
    throw new StudioError('E_ETLT_HEADER', `Invalid .etlt header: the ${n}-byte input name at byte 4 is not UTF-8 text`, 'The file is damaged or not an .etlt container. Copy or export it again.', { file, offset: ETLT_LENGTH_BYTES });
  }
  const payloadOffset = ETLT_LENGTH_BYTES + n;
  if (fileSize - payloadOffset <= NONCE_BYTES) {
    throw new StudioError('E_FILE_TRUNCATED', `The .etlt file ends at byte ${fileSize}, inside its 16-byte nonce starting at byte ${payloadOffset}: no model follows`, 'The file was cut off (interrupted copy or download). Copy or export it again.', { file, offset: payloadOffset });
  }
  return { inputName, payloadOffset };
}
