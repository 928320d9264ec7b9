/**
 * Reading a model file for a runtime adapter: the bytes, verified against the configured sha256 while
 * they are streamed in, and the labels from its model card (`<model path without .onnx>.json`).
 * Runtimes load from these bytes, not from the path, so what runs is exactly what was verified.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { ErrorCodes, ModelError } from '../../daemon/errors.js';

const MAX_MODEL_BYTES = 1024 * 1024 * 1024;
const MAX_CARD_BYTES = 1024 * 1024;
/** Hex digits of a sha256 shown in messages and logs. */
export const SHA_PREFIX = 12;

export interface VerifiedModelFile {
  bytes: Uint8Array;
  /** Lower-case hex. */
  sha256: string;
}

/**
 * IG_ERR_MODEL_NOT_FOUND when there is no such file, IG_ERR_MODEL_SHA256_MISMATCH when `expected` is set
 * and differs, IG_ERR_MODEL_LOAD for anything else (unreadable, over 1 GiB).
 */
export async function readVerifiedModelFile(
  name: string,
  file: string,
  expected: string | null,
): Promise<VerifiedModelFile> {
  let size: number;
  try {
    const stats = await stat(file);
    if (!stats.isFile())
      throw new ModelError(ErrorCodes.MODEL_NOT_FOUND, `model ${name}: ${file} is not a file`);
    size = stats.size;
  } catch (error) {
    if (error instanceof ModelError) throw error;
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) {
      throw new ModelError(ErrorCodes.MODEL_NOT_FOUND, `model ${name}: file not found: ${file}`, {
        cause: error,
      });
    }
    throw new ModelError(ErrorCodes.MODEL_LOAD, `model ${name}: cannot read ${file}`, { cause: error });
  }
  if (size > MAX_MODEL_BYTES) {
    throw new ModelError(
      ErrorCodes.MODEL_LOAD,
      `model ${name}: ${file} is ${size} bytes, more than the ${MAX_MODEL_BYTES} limit`,
    );
  }
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of createReadStream(file)) {
      const buffer = chunk as Buffer;
      total += buffer.length;
      if (total > MAX_MODEL_BYTES)
        throw new ModelError(ErrorCodes.MODEL_LOAD, `model ${name}: ${file} grew past the size limit`);
      hash.update(buffer);
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof ModelError) throw error;
    throw new ModelError(ErrorCodes.MODEL_LOAD, `model ${name}: cannot read ${file}`, { cause: error });
  }
  const sha256 = hash.digest('hex');
  assertPinnedSha256(name, file, expected, sha256);
  return { bytes: Buffer.concat(chunks, total), sha256 };
}

/** Throws IG_ERR_MODEL_SHA256_MISMATCH when a pinned sha256 (any case) differs from the file's. */
export function assertPinnedSha256(
  name: string,
  file: string,
  expected: string | null,
  sha256: string,
): void {
  if (expected === null || expected.toLowerCase() === sha256) return;
  throw new ModelError(
    ErrorCodes.MODEL_SHA256_MISMATCH,
    `model ${name}: sha256 mismatch for ${file}: expected ${expected.toLowerCase().slice(0, SHA_PREFIX)}…, ` +
      `file has ${sha256.slice(0, SHA_PREFIX)}…; refusing to load it`,
  );
}

/** Labels from the model card `<model path without .onnx>.json`, or null when there is no card or no labels. */
export async function readModelCardLabels(name: string, file: string): Promise<string[] | null> {
  const card = `${file.replace(/\.onnx$/i, '')}.json`;
  let text: string;
  try {
    const stats = await stat(card);
    if (stats.size > MAX_CARD_BYTES) {
      throw new ModelError(
        ErrorCodes.MODEL_LOAD,
        `model ${name}: model card ${card} is larger than ${MAX_CARD_BYTES} bytes`,
      );
    }
    text = await readFile(card, 'utf8');
  } catch (error) {
    if (error instanceof ModelError) throw error;
    if (isErrno(error, 'ENOENT')) return null;
    throw new ModelError(ErrorCodes.MODEL_LOAD, `model ${name}: cannot read model card ${card}`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelError(ErrorCodes.MODEL_LOAD, `model ${name}: model card ${card} is not valid JSON`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new ModelError(ErrorCodes.MODEL_LOAD, `model ${name}: model card ${card} is not a JSON object`);
  }
  const labels = (parsed as { labels?: unknown }).labels;
  if (labels === undefined || labels === null) return null;
  if (!Array.isArray(labels) || !labels.every((label) => typeof label === 'string' && label !== '')) {
    throw new ModelError(
      ErrorCodes.MODEL_LOAD,
      `model ${name}: model card ${card}: labels must be non-empty strings`,
    );
  }
  return labels as string[];
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
