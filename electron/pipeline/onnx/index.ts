// ONNX protobuf facade: decode/encode with unknown-field preservation, graph-surgery helpers,
// model inspection. Other pipeline modules import from here, not from ./generated.
export { onnx, decodeModel, encodeModel, decodeMessage, type DecodeOptions } from './model.js';
export { type Int64, int64ToNumber, int64ToNumberClamped, int64ToBigInt, int64FromBigInt } from './int64.js';
export {
  DataType,
  type DataTypeName,
  type DataTypeValue,
  elemTypeName,
  elemTypeFromName,
  elemTypeBits,
  rawByteLength,
  isFloatType,
} from './elemtypes.js';
export {
  type TensorData,
  makeTensor,
  makeScalar,
  tensorDims,
  tensorElementCount,
  tensorToFloat32,
  float16ToFloat32,
  isExternalTensor,
  externalDataInfo,
} from './tensor.js';
export {
  type AttrValue,
  type TypedAttr,
  type Dim,
  attr,
  makeAttribute,
  makeNode,
  makeValueInfo,
  valueInfoTensor,
  isDefaultDomain,
  getOpset,
  forEachNode,
  allGraphs,
  NameScope,
  uniqueName,
  getAttribute,
  attrInt,
  attrInts,
  attrFloat,
  attrFloats,
  attrString,
  setAttribute,
} from './graph.js';
export { inspectModel, summarizeModel, collectTensors, resolveExternalData, type InspectOptions, type ExternalDataFile, type ResolvedExternalData } from './inspect.js';
export { validateModelGraph, checkTensorData, MAX_TENSOR_ELEMENTS, MAX_NODES } from './validate.js';
export { STANDARD_ONNX_OPS, ORT_DOMAINS, ortCanRun } from './onnxops.js';
