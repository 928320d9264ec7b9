/**
 * The life of one bench command's run: a temp dir for generated configs and child logs, a private broker, and
 * the guarantee that no child outlives the run, whether it ends normally, throws or exits early.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllChildrenNow, stopAllChildren } from './children.js';
import { startMosquitto, type RunningMosquitto } from './mosquitto-process.js';

export class BenchRun {
  readonly workDir: string;
  broker: RunningMosquitto | undefined;
  private cleaning: Promise<void> | undefined;

  /** `program` prefixes every message (`bench: ...`) and names the temp dir. */
  constructor(readonly program: string) {
    this.workDir = mkdtempSync(join(tmpdir(), `infergate-${program}-`));
    process.on('exit', killAllChildrenNow);
  }

  async startBroker(binary: string): Promise<RunningMosquitto> {
    this.broker = await startMosquitto({ dir: this.workDir, binary });
    return this.broker;
  }

  /** The generated broker config, for the result file: a number means little without the broker's settings. */
  brokerConfig(): string[] {
    return this.broker ? readFileSync(this.broker.configPath, 'utf8').split('\n').filter(Boolean) : [];
  }

  /** Stops every child, then the broker. Idempotent, so a signal handler and the normal end may both call it. */
  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      await stopAllChildren();
      await this.broker?.stop();
    })();
    return this.cleaning;
  }

  /**
   * Runs `main`, stops everything, removes the temp dir unless the run failed or `keepLogs`, and exits with
   * main's code (1 when it threw). `quietErrors` hides the error of a run that was interrupted on purpose:
   * then the errors are only the children being stopped.
   */
  async finish(
    main: () => Promise<number>,
    keepLogs: boolean,
    quietErrors = (): boolean => false,
  ): Promise<never> {
    let exitCode = 1;
    try {
      exitCode = await main();
    } catch (err) {
      if (!quietErrors()) {
        console.error(`${this.program}: ${(err as Error).message}`);
        if (this.broker) console.error(`broker log:\n${this.broker.logTail()}`);
      }
    } finally {
      await this.cleanup();
    }
    if (exitCode === 0 && !keepLogs) rmSync(this.workDir, { recursive: true, force: true });
    else console.error(`${this.program}: logs and generated configs kept in ${this.workDir}`);
    process.exit(exitCode);
  }
}
