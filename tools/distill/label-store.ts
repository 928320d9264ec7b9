/**
 * The teacher's labels, one JSON line per event id, appended batch by batch to `labels.jsonl` in the output
 * directory, so an interrupted run loses at most the batch in flight and a rerun labels only what is left.
 * The first line names the teacher (model sha256 and output width): labels of another teacher are refused
 * rather than mixed. A torn last line (the process died inside a write) is dropped on reading.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ErrorCodes, InfergateError } from '../../daemon/errors.js';

export interface TeacherIdentity {
  teacher: string;
  sha256: string;
  outputs: number;
}

/** One labelled event: the teacher's outputs, or why the teacher could not take it. */
export type Label = { outputs: Float32Array } | { skipped: string };

export interface LabelStore {
  readonly file: string;
  readonly labels: ReadonlyMap<string, Label>;
  append(batch: readonly { id: string; label: Label }[]): void;
}

export const LABELS_FILE = 'labels.jsonl';

export function openLabelStore(file: string, identity: TeacherIdentity): LabelStore {
  const labels = new Map<string, Label>();
  if (existsSync(file)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    const header = parseLine(lines[0] ?? '') as Partial<TeacherIdentity> | null;
    if (header === null) {
      writeFileSync(file, `${JSON.stringify(identity)}\n`);
    } else if (header.sha256 !== identity.sha256 || header.outputs !== identity.outputs) {
      throw new InfergateError(
        ErrorCodes.DISTILL_LABELS,
        `${file} holds labels of another teacher (${String(header.teacher)}, sha256 ` +
          `${String(header.sha256).slice(0, 12)}); use another --out directory or remove the file`,
      );
    } else {
      let kept = lines[0]!.length + 1;
      for (const line of lines.slice(1)) {
        const entry = parseLine(line) as { id?: unknown; y?: unknown; skip?: unknown } | null;
        if (entry === null || typeof entry.id !== 'string') break;
        if (Array.isArray(entry.y) && entry.y.length === identity.outputs) {
          labels.set(entry.id, { outputs: Float32Array.from(entry.y as number[]) });
        } else if (typeof entry.skip === 'string') {
          labels.set(entry.id, { skipped: entry.skip });
        } else break;
        kept += line.length + 1;
      }
      // Cut a torn tail so the next append starts on a line of its own.
      const text = readFileSync(file, 'utf8');
      if (kept < text.length) writeFileSync(file, text.slice(0, kept));
    }
  } else {
    writeFileSync(file, `${JSON.stringify(identity)}\n`);
  }
  return {
    file,
    labels,
    append(batch) {
      if (batch.length === 0) return;
      let text = '';
      for (const { id, label } of batch) {
        text += `${JSON.stringify('outputs' in label ? { id, y: Array.from(label.outputs) } : { id, skip: label.skipped })}\n`;
        labels.set(id, label);
      }
      appendFileSync(file, text);
    },
  };
}

function parseLine(line: string): unknown {
  if (line.trim() === '') return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? value : null;
  } catch {
    return null;
  }
}
