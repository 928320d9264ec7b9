/**
 * A one-line progress bar for long tool runs, drawn only when the stream is a terminal (pipes and CI logs
 * get nothing), redrawn at most every 100 ms, and erased when done.
 */
export interface Progress {
  update(done: number): void;
  finish(): void;
}

interface TtyLike {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

const REDRAW_MS = 100;

export function progressBar(stream: TtyLike, total: number, label: string): Progress {
  if (stream.isTTY !== true || total <= 0) return { update: () => undefined, finish: () => undefined };
  let last = 0;
  let drawn = false;
  const draw = (done: number): void => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 30));
    const fraction = Math.min(1, done / total);
    const filled = Math.round(fraction * width);
    stream.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${done}/${total}`,
    );
    drawn = true;
  };
  return {
    update(done) {
      const now = performance.now();
      if (now - last < REDRAW_MS && done < total) return;
      last = now;
      draw(done);
    },
    finish() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}
