/**
 * The architecture an ELF binary was built for (`e_machine`, ELF header offset 18), so a bundle can prove
 * that every native addon and library in it runs on its target before it leaves the build machine.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** e_machine values (System V ABI, ELF header) of the architectures a bundle targets. */
const MACHINES: Record<number, string> = { 62: 'x64', 183: 'arm64', 40: 'arm', 243: 'riscv64' };

const ELF_MAGIC = 0x7f454c46;
const HEADER_BYTES = 20;

/** `x64`, `arm64`, … for an ELF file; `other(<n>)` for an architecture not listed; null when not ELF. */
export function elfMachine(file: string): string | null {
  const header = Buffer.alloc(HEADER_BYTES);
  const fd = openSync(file, 'r');
  let read: number;
  try {
    read = readSync(fd, header, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  if (read < HEADER_BYTES || header.readUInt32BE(0) !== ELF_MAGIC) return null;
  // EI_DATA (offset 5): 1 little-endian, 2 big-endian.
  const machine = header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
  return MACHINES[machine] ?? `other(${machine})`;
}

/** Native code is found by name: addons (`.node`) and shared libraries (`.so`, `.so.1.2`). */
export function isNativeCodeName(name: string): boolean {
  return /\.node$|\.so(\.\d+)*$/.test(name);
}
