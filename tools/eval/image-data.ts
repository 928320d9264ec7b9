/**
 * Labelled images for `infergate eval` on an image model: a folder with one subfolder per label
 * (`good/001.png`, `scratch/…`), or a manifest CSV with columns `file,label` (paths relative to the
 * manifest). Every image goes through preprocessImage, the function the gateway's image decoder uses, so
 * eval scores exactly what the gateway would feed the model. Anything unusable is IG_ERR_EVAL_DATA naming
 * the file, never its pixels.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { preprocessImage, type ImagePreprocessSpec } from '../../adapters/decoders/image/preprocess.js';
import { ErrorCodes, InfergateError, isInfergateError } from '../../daemon/errors.js';
import { parseCsv } from '../common/csv.js';
import type { EvalTask, LabelledData } from './eval-data.js';

export const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp)$/i;

export interface ImageData extends LabelledData {
  files: string[];
}

export interface ImageSource {
  file: string;
  label: string;
  /** Where the label came from, for messages: the subfolder or `manifest:line`. */
  where: string;
}

const fail = (message: string): never => {
  throw new InfergateError(ErrorCodes.EVAL_DATA, message);
};

/** The labelled image files of a folder (subfolder per label) or a manifest CSV, in a stable order. */
export async function listImageSources(source: string): Promise<ImageSource[]> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(source)).isDirectory();
  } catch (error) {
    throw new InfergateError(
      ErrorCodes.TOOL_INPUT,
      `cannot read data ${source}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (isDirectory) return folderSources(source);
  return manifestSources(source, await readFile(source, 'utf8'));
}

async function folderSources(dir: string): Promise<ImageSource[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const sources: ImageSource[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const files = (await readdir(path.join(dir, entry.name), { withFileTypes: true }))
      .filter((f) => f.isFile() && IMAGE_EXTENSIONS.test(f.name))
      .map((f) => f.name)
      .sort();
    for (const name of files) {
      sources.push({
        file: path.join(dir, entry.name, name),
        label: entry.name,
        where: `folder ${entry.name}`,
      });
    }
  }
  if (sources.length === 0) {
    fail(`${dir}: no images (.png, .jpg, .webp) in subfolders named after the labels`);
  }
  return sources;
}

function manifestSources(manifest: string, text: string): ImageSource[] {
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (error) {
    return fail(`${manifest}: not valid CSV: ${(error as Error).message}`);
  }
  const [header, ...body] = rows;
  const fileColumn = header?.indexOf('file') ?? -1;
  const labelColumn = header?.indexOf('label') ?? -1;
  if (header === undefined || fileColumn === -1 || labelColumn === -1) {
    fail(`${manifest}: an image manifest needs the header columns file,label`);
  }
  const base = path.dirname(manifest);
  const sources: ImageSource[] = [];
  body.forEach((cells, i) => {
    if (cells.length === 1 && cells[0] === '') return;
    const file = cells[fileColumn]?.trim() ?? '';
    if (file === '') fail(`${manifest}:${i + 2}: no file name`);
    sources.push({
      file: path.resolve(base, file),
      label: cells[labelColumn]?.trim() ?? '',
      where: `${manifest}:${i + 2}`,
    });
  });
  if (sources.length === 0) fail(`${manifest}: no data rows`);
  return sources;
}

/** Preprocesses every image into one float32 matrix (`width` values per image) with class indices. */
export async function readImageData(
  sources: readonly ImageSource[],
  preprocess: ImagePreprocessSpec,
  width: number,
  task: EvalTask,
  onProgress?: (done: number) => void,
): Promise<ImageData> {
  const features = new Float32Array(sources.length * width);
  const labels = new Uint8Array(sources.length);
  for (const [i, source] of sources.entries()) {
    const label = classIndex(source.label, task);
    if (label === null) {
      fail(`${source.where}: label '${source.label}' is not one of ${task.classes.join(', ')}`);
    }
    labels[i] = label!;
    let bytes: Buffer;
    try {
      bytes = await readFile(source.file);
    } catch (error) {
      throw new InfergateError(
        ErrorCodes.TOOL_INPUT,
        `cannot read image ${source.file}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    let tensor: Float32Array;
    try {
      tensor = await preprocessImage(bytes, preprocess);
    } catch (error) {
      if (!isInfergateError(error)) throw error;
      return fail(`${source.file}: ${error.code}: ${error.message}`);
    }
    if (tensor.length !== width) {
      fail(`${source.file}: preprocessing gives ${tensor.length} values, the model takes ${width}`);
    }
    features.set(tensor, i * width);
    onProgress?.(i + 1);
  }
  return { rows: sources.length, inputs: [], features, labels, files: sources.map((s) => s.file) };
}

function classIndex(label: string, task: EvalTask): number | null {
  const named = task.classes.indexOf(label);
  if (named !== -1) return named;
  if (task.kind === 'binary') {
    if (label === '1' || label === 'true') return 1;
    if (label === '0' || label === 'false') return 0;
  }
  return null;
}
