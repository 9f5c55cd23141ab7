/**
 * Operator types of the default ONNX domain (ai.onnx). The first block is every op that
 * onnx 1.12's schema registry lists for domain '' (opsets 1–17, including deprecated Scatter and
 * Upsample, which ONNX Runtime still runs); the second block adds ops introduced in opsets 18–24.
 * A default-domain node whose op_type is missing here is a custom op (TensorRT plugins are often
 * exported that way, e.g. `MultilevelProposeROI_TRT`), which ONNX Runtime cannot run.
 */
export const STANDARD_ONNX_OPS: ReadonlySet<string> = new Set(
  [
    // onnx 1.12 (opset 17), from onnx.defs.get_all_schemas_with_history(), domain ''.
    `Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization Bernoulli
    BitShift BlackmanWindow Cast CastLike Ceil Celu Clip Compress Concat ConcatFromSequence Constant
    ConstantOfShape Conv ConvInteger ConvTranspose Cos Cosh CumSum DFT DepthToSpace DequantizeLinear Det Div
    Dropout DynamicQuantizeLinear Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor GRU Gather
    GatherElements GatherND Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual
    GridSample HammingWindow HannWindow HardSigmoid HardSwish Hardmax Identity If InstanceNormalization IsInf
    IsNaN LRN LSTM LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop LpNormalization LpPool
    MatMul MatMulInteger Max MaxPool MaxRoiPool MaxUnpool Mean MeanVarianceNormalization MelWeightMatrix Min
    Mod Mul Multinomial Neg NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not OneHot Optional
    OptionalGetElement OptionalHasElement Or PRelu Pad Pow QLinearConv QLinearMatMul QuantizeLinear RNN
    RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range Reciprocal ReduceL1 ReduceL2
    ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu
    Reshape Resize ReverseSequence RoiAlign Round STFT Scan Scatter ScatterElements ScatterND Selu
    SequenceAt SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength SequenceMap Shape
    Shrink Sigmoid Sign Sin Sinh Size Slice Softmax SoftmaxCrossEntropyLoss Softplus Softsign SpaceToDepth
    Split SplitToSequence Sqrt Squeeze StringNormalizer Sub Sum Tan Tanh TfIdfVectorizer ThresholdedRelu
    Tile TopK Transpose Trilu Unique Unsqueeze Upsample Where Xor`,
    // Opsets 18–24 (onnx docs/Changelog.md).
    `BitwiseAnd BitwiseNot BitwiseOr BitwiseXor CenterCropPad Col2Im GroupNormalization Mish DeformConv
    AffineGrid Gelu ImageDecoder RegexFullMatch StringConcat StringSplit Attention RMSNormalization
    RotaryEmbedding TensorScatter Swish`,
  ]
    .join(' ')
    .split(/\s+/)
    .filter((s) => s.length > 0),
);

/** Domains whose ops ONNX Runtime implements (ai.onnx.ml and Microsoft contrib ops). */
export const ORT_DOMAINS: ReadonlySet<string> = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft']);

/**
 * True when ONNX Runtime can run a node of this (domain, op_type): standard default-domain ops and
 * any op of ai.onnx.ml / com.microsoft. `localFunctions` are "domain::name" keys of the model's own
 * FunctionProtos, which ONNX Runtime inlines.
 */
export function ortCanRun(domain: string, opType: string, localFunctions: ReadonlySet<string> = new Set()): boolean {
  if (localFunctions.has(`${domain}::${opType}`)) return true;
  if (domain === '' || domain === 'ai.onnx') return STANDARD_ONNX_OPS.has(opType);
  return ORT_DOMAINS.has(domain);
}
