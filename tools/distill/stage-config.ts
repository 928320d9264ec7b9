/**
 * Stages the student as a pipeline's shadow: a `models.<name>` entry pinned by sha256 and
 * `pipelines[i].shadow: <name>`, edited with the yaml library's Document API so the operator's comments and
 * layout survive. The result goes to `<config>.staged.yaml` next to the config (relative paths keep their
 * meaning), or over the config itself when asked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { isMap, isSeq, parseDocument, type Document, type YAMLMap } from 'yaml';
import { ErrorCodes, InfergateError } from '../../daemon/errors.js';
import { lineDiff } from './line-diff.js';

export interface StageRequest {
  configFile: string;
  pipeline: string;
  modelName: string;
  /** Absolute path of the staged student model. */
  modelPath: string;
  sha256: string;
  /** Write over the config file instead of `<config>.staged.yaml`. */
  inPlace: boolean;
}

export interface StagedConfig {
  file: string;
  diff: string;
}

export function stagedConfigPath(configFile: string): string {
  return join(dirname(configFile), `${basename(configFile).replace(/\.(ya?ml|json)$/i, '')}.staged.yaml`);
}

export function stageShadow(request: StageRequest): StagedConfig {
  const before = readFileSync(request.configFile, 'utf8');
  const doc = parseDocument(before);
  const pipelines = doc.get('pipelines');
  const index = isSeq(pipelines)
    ? pipelines.items.findIndex((item) => isMap(item) && item.get('name') === request.pipeline)
    : -1;
  if (index < 0) {
    throw new InfergateError(
      ErrorCodes.CONFIG_INVALID,
      `${request.configFile}: no pipeline named ${request.pipeline} in the file itself`,
    );
  }
  const path = relative(dirname(request.configFile), request.modelPath) || request.modelPath;
  const entry = { runtime: 'onnx', path, sha256: request.sha256, threads: 1 };
  const json = /\.json$/i.test(request.configFile);
  const inserted = json ? null : insertByText(before, doc, index, request.modelName, entry);
  doc.setIn(['models', request.modelName], doc.createNode(entry));
  doc.setIn(['pipelines', index, 'shadow'], request.modelName);
  const file = request.inPlace ? request.configFile : stagedConfigPath(request.configFile);
  const after =
    request.inPlace && json ? `${JSON.stringify(doc.toJS(), null, 2)}\n` : (inserted ?? doc.toString());
  try {
    writeFileSync(file, after);
  } catch (error) {
    throw new InfergateError(ErrorCodes.TOOL_OUTPUT, `cannot write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { file, diff: lineDiff(before, after) };
}

/**
 * The first staging of a block-style file: the two additions are inserted as text at the end of the
 * `models` map and of the pipeline's map, so every other line stays byte for byte (re-serializing would
 * restyle flow collections). Anything else (a rerun that replaces an entry, flow style) returns null and
 * the Document API's own output is used.
 */
function insertByText(
  text: string,
  doc: Document,
  index: number,
  name: string,
  entry: Record<string, unknown>,
): string | null {
  const models = doc.get('models', true);
  const pipeline = (doc.get('pipelines', true) as { items: unknown[] }).items[index];
  if (!isBlockMap(models) || !isBlockMap(pipeline) || models.has(name) || pipeline.has('shadow')) return null;
  const column = (map: YAMLMap): number | null => {
    const key = (map.items[0]?.key as { range?: [number, number, number] } | undefined)?.range;
    if (key === undefined) return null;
    return key[0] - (text.lastIndexOf('\n', key[0] - 1) + 1);
  };
  const modelsIndent = column(models);
  const pipelineIndent = column(pipeline);
  if (modelsIndent === null || pipelineIndent === null) return null;
  const pad = (n: number): string => ' '.repeat(n);
  const modelLines =
    `${pad(modelsIndent)}${name}:\n` +
    Object.entries(entry)
      .map(([key, value]) => `${pad(modelsIndent + 2)}${key}: ${scalar(value)}\n`)
      .join('');
  const shadowLine = `${pad(pipelineIndent)}shadow: ${name}\n`;
  const edits = [
    { at: models.range![1], text: modelLines },
    { at: pipeline.range![1], text: shadowLine },
  ].sort((a, b) => b.at - a.at);
  let out = text;
  for (const edit of edits) {
    const lineStart = out[edit.at - 1] === '\n' || edit.at === 0 ? '' : '\n';
    out = out.slice(0, edit.at) + lineStart + edit.text + out.slice(edit.at);
  }
  return out;
}

function isBlockMap(node: unknown): node is YAMLMap {
  return isMap(node) && node.flow !== true && node.range !== undefined && node.range !== null;
}

/** A plain scalar when it cannot be misread (a path of word characters), else a JSON (YAML) string. */
function scalar(value: unknown): string {
  const text = String(value);
  return typeof value === 'number' || /^[\w./-]+$/.test(text) ? text : JSON.stringify(text);
}
