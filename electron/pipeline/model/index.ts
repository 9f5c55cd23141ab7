/** Model containers: plain .onnx, sealed .tlt and .etlt (AES-256-CTR, PBKDF2 key). */
export type { ModelFormat, SealedFormat, EtltHeader } from './container.js';
export { encodeEtltHeader, parseEtltHeader, MAX_ETLT_NAME_BYTES } from './container.js';
export { detectModelFormat, classifyModelBytes, sniffFileType, type DetectedModel } from './detect.js';
export { KDF_VERSIONS, CURRENT_KDF_VERSION, deriveKey, clearKeyCache, type KdfParams } from './kdf.js';
export { quickKeyCheck, QUICK_CHECK_BYTES, type KeyCheckResult } from './keycheck.js';
export { readModel, type ReadModelResult } from './read.js';
export { sealFile, unsealFile, sealToStream, type SealHeader, type SealFileOptions, type FileJobOptions, type WrittenModel, type SealToStreamOptions } from './seal.js';
export type { ByteProgress, StreamOptions } from './progress.js';
export type { ReadStats } from './source.js';
export { walkModelProto, WireError, MAX_IR_VERSION, type WalkSummary } from './protowire.js';
export { NONCE_BYTES } from './cipher.js';
