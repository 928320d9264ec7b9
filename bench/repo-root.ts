import { fileURLToPath } from 'node:url';

/** The checkout this file was built in: the bench starts `dist/` entry points and reads `config/` from it. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
