/**
 * Debian's headless chromium for the status page tests: the DOM after the page's own script ran
 * (`--dump-dom` with a virtual time budget) and screenshots. A private profile dir per call keeps it off
 * the user's home.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Test } from 'tap';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome'];
/** A page load with its script, in a real browser on a busy 2-core box, ms. */
const RUN_TIMEOUT_MS = 60_000;

/** `$CHROMIUM_BIN`, else the first of chromium/chromium-browser/google-chrome on PATH. */
export function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_BIN) return process.env.CHROMIUM_BIN;
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '')) {
    for (const name of CANDIDATES) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** Skips the test without chromium, except in CI (`CI` set), where that is a failure. */
export function requireChromium(t: Test): string | undefined {
  const path = chromiumPath();
  if (path !== undefined) return path;
  const message = 'chromium not found (apt-get install chromium, or set CHROMIUM_BIN)';
  if (process.env.CI) t.fail(`${message}; CI must not skip the browser tests`);
  else t.plan(0, message);
  return undefined;
}

function run(chromium: string, args: string[]): { stdout: string; stderr: string } {
  const profile = mkdtempSync(join(tmpdir(), 'infergate-chromium-'));
  try {
    const result = spawnSync(
      chromium,
      [
        '--headless',
        '--disable-gpu',
        '--no-sandbox',
        '--no-first-run',
        '--disable-extensions',
        '--disable-dev-shm-usage',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
    );
    if (result.error !== undefined) throw result.error;
    if (result.status !== 0)
      throw new Error(`chromium exited ${result.status}: ${result.stderr.slice(-2000)}`);
    return { stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The page's DOM after its script had `budgetMs` of virtual time (fetches and timers included). */
export function dumpDom(chromium: string, url: string, budgetMs = 3000): string {
  return run(chromium, [`--virtual-time-budget=${budgetMs}`, '--dump-dom', url]).stdout;
}

export function screenshot(chromium: string, url: string, file: string, size = '1280,900'): void {
  run(chromium, [
    '--virtual-time-budget=3000',
    '--hide-scrollbars',
    `--screenshot=${file}`,
    `--window-size=${size}`,
    url,
  ]);
}

/** Visible text of an HTML dump: tags dropped, entities of the page decoded, whitespace collapsed. */
export function visibleText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}
