import type { StudioError } from '../../../shared/errors.js';
import { parsePyLiteral, PyLiteralError, type PyNode } from './pyliteral.js';
import type { SpecValidator } from './schema.js';
import type { SourceText } from './source.js';
import type { StringNode } from './textformat.js';

/**
 * Shape checks for the spec strings TAO evaluates as Python literals. Errors point inside the
 * string, at the element that is wrong.
 */

export class TupleChecker {
  constructor(
    private readonly src: SourceText,
    private readonly v: SpecValidator,
  ) {}

  /** Source position of character `index` of a string value. */
  at(node: StringNode, index: number): { line: number; column: number } {
    const offset = node.charOffsets[index] ?? (node.charOffsets.length > 0 ? node.endOffset - 1 : node.offset);
    return this.src.positionAt(offset);
  }

  private fail(code: 'E_SPEC_TYPE' | 'E_SPEC_VALUE' | 'E_SPEC_SYNTAX', node: StringNode, index: number, message: string, hint: string): StudioError {
    return this.v.error(code, this.at(node, index), message, hint);
  }

  parse(node: StringNode, path: string, example: string): PyNode {
    try {
      return parsePyLiteral(node.value);
    } catch (e) {
      if (!(e instanceof PyLiteralError)) throw e;
      throw this.fail('E_SPEC_SYNTAX', node, e.index, `'${path}' is not a valid Python literal: ${e.message}`, `TAO evaluates this string as Python; write it like ${example}.`);
    }
  }

  sequence(node: StringNode, py: PyNode, path: string, example: string): PyNode[] {
    if (py.kind !== 'tuple' && py.kind !== 'list') {
      throw this.fail('E_SPEC_TYPE', node, py.start, `'${path}' must be a tuple or list, found a single number`, `Write it like ${example}.`);
    }
    return py.items;
  }

  length(node: StringNode, py: PyNode, items: PyNode[], n: number, path: string, example: string): void {
    if (items.length !== n) {
      throw this.fail('E_SPEC_VALUE', node, py.start, `'${path}' needs exactly ${n} values, found ${items.length}`, `Write it like ${example}.`);
    }
  }

  int(node: StringNode, item: PyNode, path: string, min: number, example: string): number {
    if (item.kind !== 'int') {
      const what = item.kind === 'float' ? `a fraction (${node.value.slice(item.start, item.end)})` : `a ${item.kind}`;
      throw this.fail('E_SPEC_TYPE', node, item.start, `'${path}' needs whole numbers, found ${what}`, `Write integers, like ${example}.`);
    }
    if (item.value < min) {
      throw this.fail('E_SPEC_VALUE', node, item.start, `'${path}' values must be ≥ ${min}, found ${item.value}`, `Write it like ${example}.`);
    }
    return item.value;
  }

  positive(node: StringNode, item: PyNode, path: string, example: string): number {
    if (item.kind !== 'int' && item.kind !== 'float') {
      throw this.fail('E_SPEC_TYPE', node, item.start, `'${path}' needs numbers here, found a ${item.kind}`, `Write it like ${example}.`);
    }
    if (!(item.value > 0)) {
      throw this.fail('E_SPEC_VALUE', node, item.start, `'${path}' values must be positive, found ${item.value}`, `Write it like ${example}.`);
    }
    return item.value;
  }
}
