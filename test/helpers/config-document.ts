/**
 * The smallest valid config document, in the form a config file holds, for tests that change one part of it
 * and check what the loader makes of it.
 */

/** A pipeline entry on model `m`: `in/+/ev` → `out/{1}`, one input field, one threshold band. */
export function configPipeline(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'p',
    subscribe: 'in/+/ev',
    publish: 'out/{1}',
    model: 'm',
    budgetMs: 200,
    fallback: 'review',
    input: { fields: ['a'] },
    decide: { threshold: { bands: [{ min: 0.5, decision: 'reject' }], otherwise: 'accept' } },
    ...overrides,
  };
}

/** Gateway `gw-1`, ONNX model `m` at `/m.onnx` and one `configPipeline()`; `overrides` replace whole sections. */
export function configDocument(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    gateway: { id: 'gw-1' },
    models: { m: { runtime: 'onnx', path: '/m.onnx' } },
    pipelines: [configPipeline()],
    ...overrides,
  };
}
