import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../shared/errors.js';
import type { onnx } from './index.js';
import { validateModelGraph } from './validate.js';

type Node = onnx.NodeProto.$Properties;
const relu = (name: string, input: string, output: string): Node => ({ name, opType: 'Relu', input: [input], output: [output] });
const model = (node: Node[], outputs = ['y']): onnx.ModelProto.$Properties => ({
  graph: { input: [{ name: 'x' }], node, output: outputs.map((name) => ({ name })) },
});
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof StudioError ? `${e.code}: ${e.message}` : String(e);
  }
  return undefined;
};

describe('validateModelGraph', () => {
  it('a sorted chain passes with no warning', () => {
    expect(validateModelGraph(model([relu('a', 'x', 'h'), relu('b', 'h', 'y')]))).toEqual([]);
  });

  it('nodes out of topological order but acyclic: accepted with one warning naming the first use before definition', () => {
    const w = validateModelGraph(model([relu('c', 'h2', 'y'), relu('b', 'h1', 'h2'), relu('a', 'x', 'h1')]));
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/not in topological order \(node 'c' \(Relu\) uses 'h2' before node 'b' \(Relu\) defines it\)/);
  });

  it('a cycle is refused, in order or not', () => {
    const cyc = [relu('a', 'y', 'h'), relu('b', 'h', 'y')];
    expect(codeOf(() => validateModelGraph(model(cyc)))).toMatch(/^E_ONNX_INVALID: .*cycle/);
    expect(codeOf(() => validateModelGraph(model([...cyc].reverse())))).toMatch(/^E_ONNX_INVALID: .*cycle/);
  });

  it('an input nobody defines and an output nobody produces are refused, also out of order', () => {
    expect(codeOf(() => validateModelGraph(model([relu('b', 'h', 'y'), relu('a', 'nowhere', 'h')])))).toMatch(/^E_ONNX_INVALID: .*'nowhere', which no graph input/);
    expect(codeOf(() => validateModelGraph(model([relu('b', 'h', 'z'), relu('a', 'x', 'h')])))).toMatch(/^E_ONNX_INVALID: graph output 'y' is never produced/);
  });
});
