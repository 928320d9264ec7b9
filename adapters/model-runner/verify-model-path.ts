/**
 * Checks a model file that a runtime loads by path (GGUF, memory-mapped by llama.cpp) rather than from bytes:
 * its sha256 is streamed (a 1 GB file is never held in memory), and the file's identity (device, inode, size,
 * mtime) is recorded so the caller can confirm after loading that what was loaded is what was hashed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ErrorCodes, ModelError } from '../../daemon/errors.js';
import { SHA_PREFIX } from './model-file.js';

export interface VerifiedModelPath {
  /** Lower-case hex. */
  sha256: string;
  bytes: number;
  /** Compare with `modelFileStamp` after loading. */
  stamp: string;
}

/**
 * IG_ERR_MODEL_NOT_FOUND when there is no such file, IG_ERR_MODEL_SHA256_MISMATCH when `expected` is set and
 * differs, IG_ERR_MODEL_LOAD when it cannot be read.
 */
export async function verifyModelPath(
  name: string,
  file: string,
  expected: string | null,
): Promise<VerifiedModelPath> {
  const before = await modelFileStamp(name, file);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (error) {
    throw new ModelError(ErrorCodes.MODEL_LOAD, `model ${name}: cannot read ${file}`, { cause: error });
  }
  const sha256 = hash.digest('hex');
  if (expected !== null && expected.toLowerCase() !== sha256) {
    throw new ModelError(
      ErrorCodes.MODEL_SHA256_MISMATCH,
      `model ${name}: sha256 mismatch for ${file}: expected ${expected.toLowerCase().slice(0, SHA_PREFIX)}…, ` +
        `file has ${sha256.slice(0, SHA_PREFIX)}…; refusing to load it`,
    );
  }
  if ((await modelFileStamp(name, file)) !== before) {
    throw new ModelError(ErrorCodes.MODEL_LOAD, `model ${name}: ${file} changed while it was being hashed`);
  }
  return { sha256, bytes, stamp: before };
}

/** Device, inode, size and mtime of `file`: changes when the file is replaced or rewritten. */
export async function modelFileStamp(name: string, file: string): Promise<string> {
  try {
    const stats = await stat(file, { bigint: true });
    if (!stats.isFile()) {
      throw new ModelError(ErrorCodes.MODEL_NOT_FOUND, `model ${name}: ${file} is not a file`);
    }
    return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}`;
  } catch (error) {
    if (error instanceof ModelError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ModelError(ErrorCodes.MODEL_NOT_FOUND, `model ${name}: file not found: ${file}`, {
        cause: error,
      });
    }
    throw new ModelError(ErrorCodes.MODEL_LOAD, `model ${name}: cannot read ${file}`, { cause: error });
  }
}
