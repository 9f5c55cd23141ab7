import { describe, expect, it } from 'vitest';
import { onnx, DataType, makeValueInfo } from '../onnx/index.js';
import { planGraph, topologicalOrder } from './plan.js';

const node = (name: string, opType: string, input: string[], output: string[]) => onnx.NodeProto.create({ name, opType, input, output });

describe('planGraph on graphs whose nodes are not in topological order', () => {
  // x → Relu a → Sigmoid b → Add(a, b) c, listed backwards (as some ORT-converted models are).
  const nodes = [node('add', 'Add', ['a', 'b'], ['c']), node('sig', 'Sigmoid', ['a'], ['b']), node('relu', 'Relu', ['x'], ['a'])];
  const graph = onnx.GraphProto.create({ node: nodes, input: [makeValueInfo('x', DataType.FLOAT, [1, 4])], output: [makeValueInfo('c', DataType.FLOAT, [1, 4])] });

  it('orders them by their inputs, ties in file order, and keeps a sorted graph as is', () => {
    expect(topologicalOrder(nodes, new Set(['x']))).toEqual([2, 1, 0]);
    const sorted = [nodes[2]!, nodes[1]!, nodes[0]!];
    expect(topologicalOrder(sorted, new Set(['x']))).toEqual([0, 1, 2]);
    // Independent nodes keep file order.
    const two = [node('p', 'Relu', ['x'], ['p1']), node('q', 'Relu', ['x'], ['q1'])];
    expect(topologicalOrder(two, new Set(['x']))).toEqual([0, 1]);
  });

  it('calibrates every tensor instead of calling them "never produced"', () => {
    const plan = planGraph(graph);
    expect(plan.uncalibrated).toEqual([]);
    expect(plan.candidates).toEqual(['x', 'a', 'b', 'c']);
    expect(plan.runnable).toEqual([2, 1, 0]);
  });

  it('still reports a node whose input nobody produces', () => {
    const g = onnx.GraphProto.create({ node: [node('lost', 'Relu', ['nowhere'], ['y']), ...nodes], input: graph.input, output: graph.output });
    const plan = planGraph(g);
    expect(plan.uncalibrated.map((u) => u.name)).toEqual(['y']);
    expect(plan.uncalibrated[0]!.reason).toMatch(/never produced/);
  });
});
