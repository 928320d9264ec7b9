/** `YYYY-MM-DD HH:MM:SS[.mmm]` in the box's local time: what an operator compares with the wall clock. */
export function localTime(epochMs: number, withMs = false): string {
  const d = new Date(epochMs);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const seconds = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${seconds}` +
    (withMs ? `.${pad(d.getMilliseconds(), 3)}` : '')
  );
}
