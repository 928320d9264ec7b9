/**
 * A pipeline's whole model row: one compiled input mapping per model input tensor, each writing its values
 * at that tensor's offset within the row (the order `ModelInfo.inputTensors` gives). The single-tensor form
 * `input: { tensor?, fields }` fills the model's only input.
 */
import { inputMappings, type InputMapping } from './config.js';
import { ErrorCodes, ModelError } from './errors.js';
import { assertModelWidth, compileInputMapping, type CompiledInputMapping } from './input-mapping.js';
import type { EventFields, ModelInfo } from './ports.js';

export interface CompiledInputRow {
  readonly width: number;
  /** Writes the whole row at `target[offset]`; throws InputError naming the field at fault. */
  fill(event: EventFields, target: Float32Array, offset: number): void;
}

export function compileInputRow(
  input: InputMapping,
  info: Pick<ModelInfo, 'name' | 'inputs' | 'inputWidth' | 'inputTensors'>,
  pipelineName: string,
): CompiledInputRow {
  const tensors = info.inputTensors ?? [{ name: info.inputs[0]?.name ?? '', width: info.inputWidth }];
  const refuse = (message: string): never => {
    throw new ModelError(ErrorCodes.MODEL_SHAPE, `pipeline ${pipelineName}: ${message}`);
  };
  const names = tensors.map((tensor) => tensor.name).join(', ');
  const mappings = inputMappings(input);
  if (input.tensors === undefined) {
    if (tensors.length > 1) {
      refuse(
        `model ${info.name} takes ${tensors.length} input tensors (${names}); map each under input.tensors`,
      );
    }
    if (input.tensor !== null && input.tensor !== tensors[0]!.name) {
      refuse(
        `input.tensor names ${input.tensor}, but the input of model ${info.name} is ${tensors[0]!.name}`,
      );
    }
    const mapping = compileInputMapping(mappings[0]!);
    assertModelWidth(mapping, info.inputWidth, pipelineName);
    return mapping;
  }

  const byTensor = new Map(mappings.map((mapping) => [mapping.tensor, mapping]));
  for (const name of byTensor.keys()) {
    if (!tensors.some((tensor) => tensor.name === name)) {
      refuse(`input.tensors maps ${String(name)}, which is no input of model ${info.name} (${names})`);
    }
  }
  const parts: { offset: number; mapping: CompiledInputMapping }[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    const given = byTensor.get(tensor.name);
    if (given === undefined)
      refuse(`input.tensors has no mapping for input ${tensor.name} of model ${info.name}`);
    const mapping = compileInputMapping(given!);
    assertModelWidth(mapping, tensor.width, `${pipelineName} (tensor ${tensor.name})`);
    parts.push({ offset, mapping });
    offset += tensor.width;
  }
  return {
    width: offset,
    fill(event, target, at) {
      for (let i = 0; i < parts.length; i++) parts[i]!.mapping.fill(event, target, at + parts[i]!.offset);
    },
  };
}
