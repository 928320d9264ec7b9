import { loadConfig } from '../config/load-config.js';
import type { InfergateConfig } from '../daemon/config.js';
import { ConfigError, isInfergateError } from '../daemon/errors.js';
import type { Gateway } from '../daemon/gateway.js';
import type { Logger } from '../daemon/ports.js';
import type { ModelFactory } from './create-models.js';

export interface ReloadDeps {
  config: InfergateConfig;
  logger: Logger;
  gateway: Gateway;
  /** The factory the running models came from, so a reload's models share their worker threads. */
  createModels: ModelFactory;
  /** systemd: RELOADING=1 when a reload begins, READY=1 when the gateway serves again. */
  notify: { reloading(): void; ready(): void };
}

/**
 * SIGHUP (systemd's ExecReload) re-reads the config file the gateway started from. An invalid file is
 * refused with every problem logged and the running config keeps serving; a valid one is applied by
 * `Gateway.reload`. Returns a function that stops listening.
 */
export function reloadOnSighup(deps: ReloadDeps): () => void {
  const { logger } = deps;
  let running: Promise<void> | undefined;
  const onSighup = () => {
    if (running !== undefined) {
      logger.warn('SIGHUP ignored: a reload is already in progress');
      return;
    }
    running = reload(deps).finally(() => (running = undefined));
  };
  process.on('SIGHUP', onSighup);
  return () => process.off('SIGHUP', onSighup);
}

async function reload({ config, logger, gateway, createModels, notify }: ReloadDeps): Promise<void> {
  const file = config.source;
  if (file === null) {
    logger.warn('SIGHUP ignored: the config was not read from a file');
    return;
  }
  notify.reloading();
  try {
    let next: InfergateConfig;
    try {
      next = loadConfig(file);
    } catch (error) {
      if (error instanceof ConfigError) {
        for (const problem of error.problems) logger.error({ path: problem.path, file }, problem.message);
      }
      logger.error(
        { file, code: isInfergateError(error) ? error.code : undefined, err: error },
        'config reload refused: the file is invalid; still running on the previous config',
      );
      return;
    }
    try {
      const { restartNeeded } = await gateway.reload(next, await createModels(next));
      if (restartNeeded.length > 0) {
        logger.warn(
          { sections: restartNeeded },
          'these config sections changed but apply only after a restart',
        );
      }
    } catch (error) {
      logger.error({ err: error, file }, 'config reload failed; still running on the previous config');
    }
  } finally {
    notify.ready();
  }
}
