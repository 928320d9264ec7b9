/**
 * An edge node with one inspection station, for trying the Sparkplug pipeline of
 * config/examples/sparkplug.yaml: NBIRTH/DBIRTH, then one DDATA by alias per part (values drawn around the
 * sample inspection model's training means), printing the decisions written back as DCMD.
 *
 *   node dist/tools/dev/sparkplug-edge-sim.js --url mqtt://127.0.0.1:1883 --count 20 --interval-ms 500
 */
import { parseArgs } from 'node:util';
import { SparkplugEdgeNode, type MetricSpec, type MetricValues } from './sparkplug-edge-node.js';

/** The sample inspection model's inputs as PLC tags: metric name, training mean and spread. */
export const INSPECTION_TAGS: readonly { name: string; mean: number; std: number }[] = [
  { name: 'Dims/LengthMm', mean: 120.0036, std: 0.0449 },
  { name: 'Dims/WidthMm', mean: 44.9986, std: 0.0387 },
  { name: 'Dims/HeightMm', mean: 29.99999, std: 0.0263 },
  { name: 'Dims/HoleDiameterMm', mean: 7.99999, std: 0.008 },
  { name: 'Dims/FlatnessUm', mean: 11.6169, std: 4.2136 },
  { name: 'Thermal/TemperatureC', mean: 41.3438, std: 4.8381 },
  { name: 'Thermal/DeltaC', mean: 3.2689, std: 1.3981 },
  { name: 'Torque/Nm', mean: 24.9666, std: 1.0782 },
  { name: 'Torque/AngleDeg', mean: 90.2008, std: 4.7004 },
  { name: 'Vibration/Band1', mean: 1.2643, std: 0.3789 },
  { name: 'Vibration/Band2', mean: 0.9246, std: 0.1621 },
  { name: 'Vibration/Band3', mean: 0.7037, std: 0.0706 },
  { name: 'Vibration/Band4', mean: 0.5278, std: 0.1245 },
  { name: 'Vibration/Band5', mean: 0.3695, std: 0.0867 },
  { name: 'Vibration/Band6', mean: 0.2567, std: 0.0342 },
  { name: 'CycleTimeS', mean: 12.0625, std: 0.5273 },
];

/** The station's metrics: the inspection tags (Double), a part id, and the tags the decision is written to. */
export const STATION_METRICS: MetricSpec[] = [
  ...INSPECTION_TAGS.map((tag, i) => ({ name: tag.name, alias: i + 1, type: 'Double' as const })),
  { name: 'Part/Id', alias: 100, type: 'String' },
  { name: 'Inspection/Decision', alias: 200, type: 'String' },
  { name: 'Inspection/Reject', alias: 201, type: 'Boolean' },
];

/** One part's tag values: around the training means, `spread` standard deviations wide. */
export function partValues(partId: string, spread = 0.5, random: () => number = Math.random): MetricValues {
  const values: MetricValues = { 'Part/Id': partId };
  for (const tag of INSPECTION_TAGS) {
    values[tag.name] = Number((tag.mean + (random() * 2 - 1) * spread * tag.std).toFixed(4));
  }
  return values;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      group: { type: 'string', default: 'plant1' },
      edge: { type: 'string', default: 'line1' },
      device: { type: 'string', default: 'station1' },
      count: { type: 'string', default: '10' },
      'interval-ms': { type: 'string', default: '500' },
      spread: { type: 'string', default: '0.5' },
    },
  });
  const device = args.device!;
  const node = new SparkplugEdgeNode({
    url: args.url!,
    group: args.group!,
    edge: args.edge!,
    devices: { [device]: STATION_METRICS },
  });
  await node.connect();
  await node.birth();
  console.log(`NBIRTH + DBIRTH sent for spBv1.0/${args.group}/+/${args.edge}/${device}`);
  const count = Number(args.count);
  const intervalMs = Number(args['interval-ms']);
  let seen = 0;
  for (let i = 1; i <= count; i++) {
    const partId = `part-${Date.now()}-${i}`;
    const { seq } = await node.data(device, partValues(partId, Number(args.spread)));
    console.log(`DDATA seq ${seq}: ${partId}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    for (const command of node.commands.slice(seen))
      console.log(`${command.topic}: ${JSON.stringify(command.metrics)}`);
    seen = node.commands.length;
  }
  await node.end();
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\.ts$/, '.js'))) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
