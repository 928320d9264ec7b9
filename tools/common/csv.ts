/**
 * CSV as RFC 4180 describes it (comma separator, double-quoted fields with "" escapes, CRLF or LF line
 * ends), for the labelled data files `infergate eval` reads and the sample data it ships.
 */

export type CsvValue = string | number | boolean | null;

/** One line per record, header first; numbers in their shortest round-trip form. */
export function formatCsv(columns: readonly string[], records: readonly Record<string, CsvValue>[]): string {
  const lines = [columns.map(quote).join(',')];
  for (const record of records) lines.push(columns.map((c) => quote(cell(record[c]))).join(','));
  return `${lines.join('\n')}\n`;
}

function cell(value: CsvValue | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

function quote(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Parses CSV text into rows of fields; a leading UTF-8 BOM is dropped, a final line end is optional.
 * Throws RangeError with the line number on an unterminated quote or text after a closing quote.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let quoted = false;
  let fieldStarted = false;
  const endField = (): void => {
    row.push(field);
    field = '';
    quoted = false;
    fieldStarted = false;
  };
  const endRow = (): void => {
    endField();
    rows.push(row);
    row = [];
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
          throw new RangeError(`line ${line}: text after a closing quote`);
        }
        continue;
      }
      if (ch === '\n') line++;
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
      i++;
    } else if (ch === ',') {
      endField();
      i++;
    } else if (ch === '\n' || ch === '\r') {
      endRow();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
    } else {
      field += ch;
      fieldStarted = true;
      i++;
    }
  }
  if (quoted) throw new RangeError(`line ${line}: unterminated quoted field`);
  if (fieldStarted || row.length > 0) endRow();
  return rows;
}
