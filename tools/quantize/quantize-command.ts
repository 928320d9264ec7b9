/**
 * `infergate quantize IN.onnx OUT.onnx --bits 4|8`: rewrites the FP32 MatMul/Gemm weights of a model
 * (tools/quantize/quantize-model.ts), writes OUT atomically, prints what was quantized and what stayed FP32 and
 * why. A model card next to IN (`IN.json`) is copied next to OUT with the file, size, sha256 and
 * quantization updated, unless OUT already has one.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { ErrorCodes, InfergateError } from '../../daemon/errors.js';
import { ToolExit, ToolUsageError, intOption, toolExitCode } from '../common/cli-exit.js';
import { cardPathFor } from '../common/model-card.js';
import {
  QUANTIZE_DEFAULTS,
  quantizeModel,
  type QuantizeOptions,
  type QuantizeReport,
} from './quantize-model.js';

export async function quantizeCommand(
  values: Record<string, unknown>,
  positionals: string[],
  usage: string,
): Promise<number> {
  try {
    return await quantize(values, positionals);
  } catch (error) {
    return toolExitCode(error, usage);
  }
}

export function quantizeOptions(values: Record<string, unknown>): QuantizeOptions {
  const bits = values.bits;
  if (bits !== '4' && bits !== '8')
    throw new ToolUsageError(`--bits must be 4 or 8, got '${String(bits ?? '')}'`);
  const blockSize = intOption(values, 'block-size', QUANTIZE_DEFAULTS.blockSize, 1);
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new ToolUsageError(`--block-size must be a power of two >= 16, got ${blockSize}`);
  }
  const accuracy = values['accuracy-level'];
  const accuracyLevel = accuracy === undefined ? null : intOption(values, 'accuracy-level', 0, 0);
  if (accuracyLevel !== null && accuracyLevel > 4)
    throw new ToolUsageError('--accuracy-level must be 0 to 4');
  if (accuracyLevel !== null && bits === '8')
    throw new ToolUsageError('--accuracy-level applies to --bits 4 only');
  return {
    bits: bits === '4' ? 4 : 8,
    blockSize,
    minSize: intOption(values, 'min-size', QUANTIZE_DEFAULTS.minSize, 0),
    exclude: (values.exclude as string[] | undefined) ?? [],
    accuracyLevel,
  };
}

async function quantize(values: Record<string, unknown>, positionals: string[]): Promise<number> {
  if (positionals.length !== 2) throw new ToolUsageError('quantize takes an input and an output model file');
  const [input, output] = positionals as [string, string];
  const options = quantizeOptions(values);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(input);
  } catch (error) {
    throw new InfergateError(ErrorCodes.TOOL_INPUT, `cannot read ${input}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const { bytes: out, report } = quantizeModel(bytes, options);
  await writeAtomically(output, out);
  const sha256 = createHash('sha256').update(out).digest('hex');
  process.stdout.write(describe(input, output, report, sha256));
  const card = await copyCard(input, output, out.length, sha256, report);
  if (card !== null) process.stdout.write(`${card}\n`);
  return ToolExit.OK;
}

function describe(input: string, output: string, report: QuantizeReport, sha256: string): string {
  const how =
    report.bits === 4
      ? `int4 (com.microsoft MatMulNBits, block size ${report.blockSize}, symmetric)`
      : 'int8 (DequantizeLinear, per output channel, symmetric)';
  const lines = [
    `${input} → ${output}: ${report.quantized.length} weight${report.quantized.length === 1 ? '' : 's'} to ${how}`,
    ...report.quantized.map(
      (q) => `  ${q.opType.padEnd(7)} ${q.node}  weight ${q.weight} [K ${q.k}, N ${q.n}]`,
    ),
  ];
  if (report.skipped.length > 0) {
    lines.push('kept in FP32:');
    for (const s of report.skipped)
      lines.push(`  ${s.opType.padEnd(7)} ${s.node}  weight ${s.weight}: ${s.reason}`);
  }
  const ratio = ((report.bytesOut / report.bytesIn) * 100).toFixed(0);
  lines.push(
    `size ${report.bytesIn.toLocaleString('en-US')} → ${report.bytesOut.toLocaleString('en-US')} bytes (${ratio}%)`,
  );
  lines.push(`sha256 ${sha256}`);
  return `${lines.join('\n')}\n`;
}

async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(temp, bytes);
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new InfergateError(ErrorCodes.TOOL_OUTPUT, `cannot write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function copyCard(
  input: string,
  output: string,
  bytes: number,
  sha256: string,
  report: QuantizeReport,
): Promise<string | null> {
  const from = cardPathFor(input);
  const to = cardPathFor(output);
  if (from === to) return null;
  let card: Record<string, unknown>;
  try {
    card = JSON.parse(await readFile(from, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof card !== 'object' || card === null || Array.isArray(card)) return null;
  if (await exists(to)) return `model card ${to} exists; left as it is`;
  const updated = {
    ...card,
    variant: report.bits === 4 ? 'int4' : 'int8',
    file: output.split(/[\\/]/).pop(),
    bytes,
    sha256,
    quantization:
      report.bits === 4
        ? {
            weights: 'int4',
            operator: 'com.microsoft MatMulNBits',
            blockSize: report.blockSize,
            zeroPoint: 8,
            symmetric: true,
          }
        : { weights: 'int8', operator: 'DequantizeLinear', perChannel: true, zeroPoint: 0, symmetric: true },
  };
  await writeAtomically(to, new TextEncoder().encode(`${JSON.stringify(updated, null, 2)}\n`));
  return `model card ${to} (from ${from})`;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
