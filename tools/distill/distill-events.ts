/**
 * The events a student is distilled from, as the gateway would see them (EventFields with an id): from a
 * CSV or JSON-lines file, or from a pipeline's rows in the state database, which hold the raw payload only
 * when `privacy.keepInput` is on. Labels in the file (a `label` column) are not read: the teacher labels.
 */
import { readFile } from 'node:fs/promises';
import { createJsonDecoder } from '../../adapters/decoders/index.js';
import type { InputLimits } from '../../daemon/config.js';
import { ErrorCodes, InfergateError, isInfergateError } from '../../daemon/errors.js';
import type { EventFields } from '../../daemon/ports.js';
import { openStateDatabaseReadOnly } from '../../daemon/state/schema.js';
import { parseCsv } from '../common/csv.js';

export interface DistillEvent {
  id: string;
  fields: EventFields;
}

export interface EventSource {
  events: DistillEvent[];
  /** Rows that could not be read as an event (bad JSON line, undecodable payload). */
  unreadable: number;
  description: string;
}

/**
 * `booleanPaths`: fields the input mapping reads as booleans. A CSV cell has no type, so `1`/`0` in such a
 * column become true/false there; elsewhere a numeric cell is a number, `true`/`false` a boolean, an empty
 * cell an absent field, anything else a string. Dotted column names become nested objects.
 */
export async function readEventsFile(
  file: string,
  booleanPaths: ReadonlySet<string>,
  limits: InputLimits,
): Promise<EventSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InfergateError(
      ErrorCodes.TOOL_INPUT,
      `cannot read events ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const jsonLines = /\.jsonl?$/i.test(file) || text.trimStart().startsWith('{');
  const source = jsonLines ? jsonLinesEvents(text, limits) : csvEvents(file, text, booleanPaths);
  return { ...source, description: file };
}

function jsonLinesEvents(text: string, limits: InputLimits): Omit<EventSource, 'description'> {
  const decode = createJsonDecoder({ limits });
  const events: DistillEvent[] = [];
  let unreadable = 0;
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      const fields = decode(Buffer.from(line, 'utf8'));
      events.push({ id: eventId(fields, `line-${index + 1}`), fields });
    } catch (error) {
      if (!isInfergateError(error)) throw error;
      unreadable++;
    }
  });
  return { events, unreadable };
}

function csvEvents(
  file: string,
  text: string,
  booleanPaths: ReadonlySet<string>,
): Omit<EventSource, 'description'> {
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (error) {
    throw new InfergateError(ErrorCodes.TOOL_INPUT, `${file}: ${(error as Error).message}`, { cause: error });
  }
  const [header, ...body] = rows;
  if (header === undefined || header.length === 0) {
    throw new InfergateError(ErrorCodes.TOOL_INPUT, `${file}: no header row`);
  }
  const events: DistillEvent[] = [];
  let unreadable = 0;
  body.forEach((cells, index) => {
    if (cells.length === 1 && cells[0] === '') return;
    if (cells.length !== header.length) {
      unreadable++;
      return;
    }
    const fields: EventFields = Object.create(null) as EventFields;
    header.forEach((column, i) => {
      const value = cellValue(cells[i]!, booleanPaths.has(column));
      if (value !== undefined) setPath(fields, column.split('.'), value);
    });
    events.push({ id: eventId(fields, `row-${index + 1}`), fields });
  });
  return { events, unreadable };
}

function cellValue(cell: string, asBoolean: boolean): string | number | boolean | undefined {
  if (cell === '') return undefined;
  if (cell === 'true' || (asBoolean && cell === '1')) return true;
  if (cell === 'false' || (asBoolean && cell === '0')) return false;
  const number = Number(cell);
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cell.trim()) && Number.isFinite(number)
    ? number
    : cell;
}

function setPath(target: EventFields, segments: string[], value: unknown): void {
  let node = target;
  for (const segment of segments.slice(0, -1)) {
    const next = node[segment];
    if (typeof next !== 'object' || next === null) node[segment] = Object.create(null) as EventFields;
    node = node[segment] as EventFields;
  }
  node[segments[segments.length - 1]!] = value;
}

function eventId(fields: EventFields, fallback: string): string {
  const id = fields.id;
  return typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : fallback;
}

/**
 * A pipeline's recorded events, oldest first. Only JSON pipelines: their payload decodes without the
 * sender's context (a Sparkplug payload needs its BIRTH).
 */
export function readStateEvents(stateDir: string, pipeline: string, limits: InputLimits): EventSource {
  let db: ReturnType<typeof openStateDatabaseReadOnly>;
  try {
    db = openStateDatabaseReadOnly(stateDir);
  } catch (error) {
    throw new InfergateError(
      ErrorCodes.TOOL_INPUT,
      `no state database to read in ${stateDir} (has the gateway run with this config?)`,
      { cause: error },
    );
  }
  try {
    const counts = db
      .prepare('SELECT count(*) AS total, count(payload) AS kept FROM events WHERE pipeline = ?')
      .get(pipeline) as { total: number; kept: number };
    if (counts.kept === 0) {
      throw new InfergateError(
        ErrorCodes.TOOL_INPUT,
        `the state database in ${stateDir} holds ${counts.total} event(s) of pipeline ${pipeline} but no ` +
          'inputs: the gateway keeps them only with privacy.keepInput on; pass --events FILE instead',
      );
    }
    const decode = createJsonDecoder({ limits });
    const events: DistillEvent[] = [];
    let unreadable = 0;
    const rows = db
      .prepare(
        'SELECT event_id AS id, payload FROM events WHERE pipeline = ? AND payload IS NOT NULL ORDER BY received_at, event_id',
      )
      .iterate(pipeline) as IterableIterator<{ id: string; payload: Buffer }>;
    for (const row of rows) {
      try {
        events.push({ id: row.id, fields: decode(row.payload) });
      } catch (error) {
        if (!isInfergateError(error)) throw error;
        unreadable++;
      }
    }
    return { events, unreadable, description: `${stateDir} (pipeline ${pipeline}, kept inputs)` };
  } finally {
    db.close();
  }
}
