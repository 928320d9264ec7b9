/** The top-level help fits a 100-column terminal: each command's usage, then its summary indented below. */
const HELP_COLUMNS = 100;

export function helpText(commands: readonly { usage: string; summary: string }[]): string {
  const lines = commands.flatMap((c) => [
    // A long usage continues under its first argument: `infergate eval` and then the options.
    ...wrap(c.usage, '  ', ' '.repeat(2 + c.usage.split(' ', 2).join(' ').length + 1)),
    ...wrap(c.summary, '      ', '      '),
  ]);
  return [
    'usage: infergate <command> [options]',
    '',
    'commands:',
    ...lines,
    '  infergate --help | --version',
    '',
    'exit codes: 0 ok, 64 usage error, 65 model or data refused, 66 input unreadable,',
    '  69 gateway not answering (status), 70 internal error, 73 output not writable, 78 invalid config',
    '',
  ].join('\n');
}

/** Word-wraps `text` to HELP_COLUMNS; a word longer than a line (a deep path) stays whole on its own line. */
function wrap(text: string, first: string, rest: string): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (!empty && line.length + 1 + word.length > HELP_COLUMNS) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}
