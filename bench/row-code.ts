/**
 * JavaScript source that builds the model row and applies the decision rule, generated from a gateway
 * pipeline's `input.fields` and `decide.threshold` sections, for the Node-RED function node. Generated
 * straight-line code is what a careful Node-RED user would write by hand for one event shape; generating
 * it from the pipeline keeps the flow computing exactly the gateway's row.
 */

/** A pipeline input field as written in YAML: a dotted path, or an object with path and options. */
export type YamlInputField =
  string | { path: string; oneHot?: readonly string[]; type?: 'number' | 'boolean'; default?: unknown };

function access(variable: string, path: string, optional: boolean): string {
  const join = optional ? '?.' : '';
  return (
    variable +
    path
      .split('.')
      .map((key) => `${join}[${JSON.stringify(key)}]`)
      .join('')
  );
}

/** The row width the fields give: 1 per number or boolean, one per listed value for a one-hot field. */
export function rowWidth(fields: readonly YamlInputField[]): number {
  return fields.reduce(
    (n, f) => n + (typeof f !== 'string' && Array.isArray(f.oneHot) ? f.oneHot.length : 1),
    0,
  );
}

/**
 * Statements that fill `rowVar` (a Float32Array of `rowWidth(fields)`) from the parsed event `eventVar`.
 * Like the bare loop, it does not validate: a missing field without default gives NaN.
 */
export function rowCode(fields: readonly YamlInputField[], eventVar = 'e', rowVar = 'row'): string {
  const lines: string[] = [];
  let column = 0;
  fields.forEach((field, index) => {
    const f = typeof field === 'string' ? { path: field } : field;
    const hasDefault = f.default !== undefined && f.default !== null;
    const read = access(eventVar, f.path, hasDefault);
    const value = hasDefault ? `(${read} ?? ${JSON.stringify(f.default)})` : read;
    if (Array.isArray(f.oneHot)) {
      const v = `v${index}`;
      lines.push(`const ${v} = ${value};`);
      for (const option of f.oneHot as readonly string[]) {
        lines.push(`${rowVar}[${column++}] = ${v} === ${JSON.stringify(option)} ? 1 : 0;`);
      }
    } else if (f.type === 'boolean') {
      lines.push(`${rowVar}[${column++}] = ${value} ? 1 : 0;`);
    } else {
      lines.push(`${rowVar}[${column++}] = ${value};`);
    }
  });
  return lines.join('\n');
}

interface ThresholdDecide {
  threshold: {
    output: number;
    bands: readonly { min: number; decision: string }[];
    otherwise: string;
  };
}

function isThreshold(decide: unknown): decide is ThresholdDecide {
  const t = (decide as Partial<ThresholdDecide> | null)?.threshold;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.output === 'number' &&
    Array.isArray(t.bands) &&
    typeof t.otherwise === 'string'
  );
}

/** An expression of the decision for the model output array `outputVar`; only `threshold` rules. */
export function decisionCode(decide: unknown, outputVar = 'out'): string {
  if (!isThreshold(decide)) throw new Error('the Node-RED flow supports threshold decide rules only');
  const { output, bands, otherwise } = decide.threshold;
  const score = `${outputVar}[${output}]`;
  return bands.reduceRight(
    (rest, band) => `${score} >= ${band.min} ? ${JSON.stringify(band.decision)} : ${rest}`,
    JSON.stringify(otherwise),
  );
}
