/**
 * Labelled data for `infergate eval`: CSV (header row) or JSON lines (one object per line, nested objects
 * allowed), turned into a float32 feature matrix in the model's input order and one class index per row.
 * Anything unusable is IG_ERR_EVAL_DATA naming the file, line and column, never the value.
 */
import { ErrorCodes, InfergateError } from '../../daemon/errors.js';
import { parseCsv } from '../common/csv.js';
import { FeatureError, featureValue, type DataRecord } from './record-features.js';

export type EvalTask =
  { kind: 'binary'; classes: readonly [string, string] } | { kind: 'multiclass'; classes: readonly string[] };

export interface DataSpec {
  /** Input names in model order; empty: every column except the label, in file order. */
  inputs: readonly string[];
  labelColumn: string;
  task: EvalTask;
}

export interface LabelledData {
  rows: number;
  inputs: string[];
  /** Row-major `rows × inputs.length`. */
  features: Float32Array;
  labels: Uint8Array;
}

export type DataFormat = 'csv' | 'jsonl';

export function dataFormat(file: string, text: string): DataFormat {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(jsonl|ndjson|json)$/i.test(file)) return 'jsonl';
  return text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

export function parseLabelledData(file: string, text: string, spec: DataSpec): LabelledData {
  const fail = (line: number | null, message: string): never => {
    throw new InfergateError(ErrorCodes.EVAL_DATA, `${file}${line === null ? '' : `:${line}`}: ${message}`);
  };
  const { records, lines, columns } =
    dataFormat(file, text) === 'csv' ? csvRecords(text, fail) : jsonlRecords(text, fail);
  if (records.length === 0) fail(null, 'no data rows');
  let inputs = [...spec.inputs];
  if (inputs.length === 0) {
    inputs = columns.filter((c) => c !== spec.labelColumn);
    if (inputs.length === 0) fail(null, 'no input columns besides the label');
  }
  const width = inputs.length;
  const features = new Float32Array(records.length * width);
  const labels = new Uint8Array(records.length);
  records.forEach((record, r) => {
    for (let i = 0; i < width; i++) {
      try {
        features[r * width + i] = featureValue(record, inputs[i]!);
      } catch (error) {
        if (error instanceof FeatureError) fail(lines[r]!, error.message);
        throw error;
      }
    }
    const label = classIndex(record[spec.labelColumn], spec.task);
    if (label === null) {
      fail(
        lines[r]!,
        record[spec.labelColumn] === undefined
          ? `no label column '${spec.labelColumn}' (choose it with --label)`
          : `label in column '${spec.labelColumn}' is not ${
              spec.task.kind === 'binary'
                ? '0/1 or true/false'
                : `one of ${spec.task.classes.join(', ')} or a class index`
            }`,
      );
    }
    labels[r] = label!;
  });
  return { rows: records.length, inputs, features, labels };
}

function classIndex(value: unknown, task: EvalTask): number | null {
  if (value === undefined || value === null) return null;
  const text = String(value).trim();
  if (task.kind === 'binary') {
    if (text === '1' || text === 'true') return 1;
    if (text === '0' || text === 'false') return 0;
    const named = task.classes.indexOf(text);
    return named === -1 ? null : named;
  }
  const named = task.classes.indexOf(text);
  if (named !== -1) return named;
  if (/^\d+$/.test(text) && Number(text) < task.classes.length) return Number(text);
  return null;
}

type Fail = (line: number | null, message: string) => never;

function csvRecords(text: string, fail: Fail): { records: DataRecord[]; lines: number[]; columns: string[] } {
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (error) {
    return fail(null, `not valid CSV: ${(error as Error).message}`);
  }
  const [header, ...body] = rows;
  if (header === undefined) return fail(null, 'empty file');
  const records: DataRecord[] = [];
  const lines: number[] = [];
  body.forEach((cells, i) => {
    if (cells.length === 1 && cells[0] === '') return;
    if (cells.length !== header.length)
      fail(i + 2, `${cells.length} fields, the header has ${header.length}`);
    records.push(Object.fromEntries(header.map((column, c) => [column, cells[c]])));
    lines.push(i + 2);
  });
  return { records, lines, columns: header };
}

function jsonlRecords(
  text: string,
  fail: Fail,
): { records: DataRecord[]; lines: number[]; columns: string[] } {
  const records: DataRecord[] = [];
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      fail(i + 1, 'not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      fail(i + 1, 'not a JSON object');
    records.push(parsed as DataRecord);
    lines.push(i + 1);
  });
  return { records, lines, columns: records.length > 0 ? Object.keys(records[0]!) : [] };
}
