/**
 * systemd credentials (`LoadCredential=name:/etc/infergate/name`): systemd copies the file into a private
 * directory only this service can read and names it in `$CREDENTIALS_DIRECTORY`, so a secret needs no
 * read permission for the service user at its source.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/** The credential's path when systemd passed one by that name, else null. */
export function credentialPath(env: NodeJS.ProcessEnv, name: string): string | null {
  const dir = env.CREDENTIALS_DIRECTORY;
  if (dir === undefined || dir === '' || !isAbsolute(dir)) return null;
  const file = join(dir, name);
  return existsSync(file) ? file : null;
}
