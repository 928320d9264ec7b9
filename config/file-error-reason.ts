/** A file system error as a config problem shows it: the reason in words, never a stack trace. */
export function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ERR_ENCODING_INVALID_ENCODED_DATA':
      return 'not valid UTF-8 text';
    case 'ENOENT':
    case 'ENOTDIR':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return code ?? String(error);
  }
}
