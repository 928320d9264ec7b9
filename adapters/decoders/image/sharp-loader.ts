/**
 * sharp (libvips) is loaded on first use: mapped into a gateway it was ~7 MiB of RSS at ready, paid by
 * every box whether or not it has an image pipeline, because config validation and the decoder factory
 * import this folder either way. The entry point loads it at start when an image pipeline is configured
 * (`loadImageDecoding`), so a broken install still fails the start and the first image pays nothing; a
 * reload that adds one loads it when the pipeline's decoder is made.
 */
import type sharpModule from 'sharp';

export type Sharp = typeof sharpModule;

let loading: Promise<Sharp> | undefined;
let gatewaySettings = false;

/** sharp, imported once. */
export function loadSharp(): Promise<Sharp> {
  loading ??= import('sharp').then(({ default: sharp }) => {
    if (gatewaySettings) applyGatewaySettings(sharp);
    return sharp;
  });
  return loading;
}

/** Starts loading sharp in the background; a failure shows when an image is decoded. */
export function preloadSharp(): void {
  loadSharp().catch(() => undefined);
}

/**
 * Process-wide libvips settings for a gateway: no operation cache (every image is new; a cache only grows
 * the RSS) and one libvips thread per image, so the decode stage's bound is the bound on the cores used.
 * Applied when sharp loads, or at once if it has.
 */
export function configureImageDecoding(): void {
  gatewaySettings = true;
  loading?.then(applyGatewaySettings, () => undefined);
}

/** configureImageDecoding, and sharp loaded now: for a gateway that has an image pipeline at start. */
export async function loadImageDecoding(): Promise<void> {
  configureImageDecoding();
  await loadSharp();
}

function applyGatewaySettings(sharp: Sharp): void {
  sharp.cache(false);
  sharp.concurrency(1);
}
