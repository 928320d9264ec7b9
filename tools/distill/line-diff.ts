/** A unified-style line diff (LCS) of two small texts, such as a config file and its staged edit. */
export function lineDiff(before: string, after: string, context = 2): string {
  const a = before.split('\n');
  const b = after.split('\n');
  // Longest common subsequence table, from the end: fine for config-sized files (a few hundred lines).
  const lcs: Uint32Array[] = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: { kind: ' ' | '-' | '+'; text: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', text: a[i++]! });
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ kind: '-', text: a[i++]! });
    } else {
      ops.push({ kind: '+', text: b[j++]! });
    }
  }
  const keep = ops.map((op, k) =>
    ops.slice(Math.max(0, k - context), k + context + 1).some((near) => near.kind !== ' '),
  );
  const lines: string[] = [];
  ops.forEach((op, k) => {
    if (keep[k]) lines.push(`${op.kind}${op.text}`);
    else if (k > 0 && keep[k - 1]) lines.push('...');
  });
  return lines.join('\n');
}
