import type { ImageConfig } from '../daemon/config.js';
import { imageSpecProblems, MAX_TARGET_SIDE } from '../adapters/decoders/image/preprocess.js';
import { ConfigProblems, childPath, readMapping } from './config-problems.js';
import { integerProblem, oneOfProblem } from './value-checks.js';

/** Default pixel limit: 16 MP (4096×4096), above any camera frame a part check needs, far below a bomb. */
export const DEFAULT_MAX_INPUT_PIXELS = 16_777_216;
/** The most a config may allow: libvips' own default limit (0x3FFF squared). */
export const MAX_INPUT_PIXELS_LIMIT = 268_402_689;

const IMAGE_KEYS = [
  'width',
  'height',
  'channels',
  'fit',
  'scale',
  'mean',
  'std',
  'layout',
  'maxInputPixels',
  'field',
] as const;

const FIELD_PATH = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/**
 * Parses a pipeline's `image` section. `width` and `height` are required; the rest default to 3 channels,
 * `fill`, scale 1/255, mean 0, std 1, `nchw`, 16 MP and a raw image payload (no `field`).
 */
export function parseImageConfig(raw: unknown, path: string, problems: ConfigProblems): ImageConfig | null {
  const entry = readMapping(raw, path, IMAGE_KEYS, problems);
  if (entry === null) return null;
  const before = problems.count;
  const at = (key: string): string => childPath(path, key);
  for (const key of ['width', 'height'] as const) {
    if (entry[key] === undefined)
      problems.add(at(key), `is required (an integer between 1 and ${MAX_TARGET_SIDE})`);
    else {
      const problem = integerProblem(entry[key], 1, MAX_TARGET_SIDE);
      if (problem !== null) problems.add(at(key), problem);
    }
  }
  const channels = entry.channels ?? 3;
  const channelsProblem = oneOfProblem(channels, [1, 3]);
  if (channelsProblem !== null) problems.add(at('channels'), channelsProblem);
  const fit = entry.fit ?? 'fill';
  const fitProblem = oneOfProblem(fit, ['fill', 'contain', 'cover']);
  if (fitProblem !== null) problems.add(at('fit'), fitProblem);
  const layout = entry.layout ?? 'nchw';
  const layoutProblem = oneOfProblem(layout, ['nchw', 'nhwc']);
  if (layoutProblem !== null) problems.add(at('layout'), layoutProblem);
  const maxInputPixels = entry.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  const pixelsProblem = integerProblem(maxInputPixels, 1, MAX_INPUT_PIXELS_LIMIT);
  if (pixelsProblem !== null) problems.add(at('maxInputPixels'), pixelsProblem);
  const field = entry.field ?? null;
  if (field !== null && (typeof field !== 'string' || !FIELD_PATH.test(field))) {
    problems.add(at('field'), 'must be a dotted field path (e.g. image or frame.jpeg)');
  }
  const count = channels === 1 ? 1 : 3;
  const scale = entry.scale ?? 1 / 255;
  const mean = entry.mean ?? Array<number>(count).fill(0);
  const std = entry.std ?? Array<number>(count).fill(1);
  for (const [key, value] of [
    ['mean', mean],
    ['std', std],
  ] as const) {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'number')) {
      problems.add(at(key), `must be a list of ${count} number(s), one per channel`);
    }
  }
  if (typeof scale !== 'number') problems.add(at('scale'), 'must be a number');
  if (problems.count !== before) return null;
  const config: ImageConfig = {
    width: entry.width as number,
    height: entry.height as number,
    channels: count,
    fit: fit as ImageConfig['fit'],
    scale: scale as number,
    mean: mean as number[],
    std: std as number[],
    layout: layout as ImageConfig['layout'],
    maxInputPixels: maxInputPixels as number,
    field: field as string | null,
  };
  // The numeric rules (finite, non-zero std, one value per channel) live with the preprocessing.
  for (const [key, message] of imageSpecProblems(config)) problems.add(at(key), message);
  return problems.count === before ? config : null;
}
