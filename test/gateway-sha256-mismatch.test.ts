import t from 'tap';
import { sampleModel, spawnGateway, tempDir, testConfig, writeConfig } from './helpers/gateway-process.js';

t.test('a model whose sha256 does not match the config is refused: exit 78, clear error', async (t) => {
  const dir = tempDir(t);
  const config = testConfig({
    // Nothing listens here: the gateway must refuse before it ever connects.
    url: 'mqtt://127.0.0.1:9',
    stateDir: `${dir}/state`,
    models: { 'atm-risk': { runtime: 'onnx', path: sampleModel('atm-risk'), sha256: '0'.repeat(64) } },
  });
  const gateway = spawnGateway(writeConfig(dir, config));
  const exit = await gateway.exited;
  t.equal(exit.code, 78, 'EX_CONFIG');
  const fatal = gateway.logs.find((l) => l.level === 60);
  t.match(JSON.stringify(fatal), /IG_ERR_MODEL_SHA256_MISMATCH/, 'the fatal log line carries the code');
});
