/**
 * Socket activation (sd_listen_fds(3)): systemd opens a listening socket in the host's network namespace
 * and passes it to the service, which then needs no network of its own to serve on it. This is how the
 * `PrivateNetwork=yes` unit still answers scrapes on 127.0.0.1.
 */

/** First passed descriptor (SD_LISTEN_FDS_START). */
const LISTEN_FDS_START = 3;
/** More passed descriptors than this means a broken environment, not a real unit. */
const MAX_LISTEN_FDS = 64;

/**
 * The descriptor systemd passed under `name` (the socket unit's `FileDescriptorName=`), or null when this
 * process was not socket-activated or got no socket by that name.
 */
export function systemdListenFd(env: NodeJS.ProcessEnv, name: string): number | null {
  if (env.LISTEN_PID !== String(process.pid)) return null;
  const count = Number(env.LISTEN_FDS);
  if (!Number.isInteger(count) || count < 1 || count > MAX_LISTEN_FDS) return null;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  const index = names.indexOf(name);
  return index === -1 || index >= count ? null : LISTEN_FDS_START + index;
}
