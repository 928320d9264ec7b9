/**
 * Test images made with sharp at test setup (never downloaded, never committed): good JPEG/PNG/WebP
 * pictures, a truncated JPEG, a corrupt JPEG and a small PNG whose header declares a huge size.
 */
import sharp from 'sharp';

/** A `width`×`height` RGB picture of pseudo-random noise (JPEG-unfriendly, so files are realistic). */
export function noisePixels(width: number, height: number, seed = 1): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  let state = seed >>> 0;
  for (let i = 0; i < pixels.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    pixels[i] = state >>> 24;
  }
  return pixels;
}

export async function noiseImage(
  format: 'jpeg' | 'png' | 'webp',
  width: number,
  height: number,
  seed = 1,
): Promise<Buffer> {
  const image = sharp(noisePixels(width, height, seed), { raw: { width, height, channels: 3 } });
  return image.toFormat(format, format === 'jpeg' ? { quality: 90 } : {}).toBuffer();
}

/** A single-colour picture. */
export async function solidImage(
  format: 'jpeg' | 'png' | 'webp',
  width: number,
  height: number,
  colour: { r: number; g: number; b: number },
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .toFormat(format)
    .toBuffer();
}

/** The first half of a JPEG: a real header and a scan that stops mid-way. */
export async function truncatedJpeg(): Promise<Buffer> {
  const whole = await noiseImage('jpeg', 256, 256, 7);
  return whole.subarray(0, Math.floor(whole.length / 2));
}

/** A JPEG start-of-image marker followed by bytes that are no JPEG at all. */
export function corruptJpeg(): Buffer {
  const body = Buffer.alloc(2048);
  for (let i = 0; i < body.length; i++) body[i] = (i * 37) & 0xff;
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), body]);
}

/**
 * A few-hundred-byte PNG whose IHDR declares `width`×`height` (a decompression-bomb shape: decoding it
 * would allocate gigabytes). The IHDR CRC is recomputed so the header itself is valid.
 */
export async function hugeDeclaredPng(width = 100_000, height = 100_000): Promise<Buffer> {
  const png = Buffer.from(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  );
  // Signature (8) + IHDR length (4) + type (4): width and height follow, then 5 bytes, then the CRC.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
