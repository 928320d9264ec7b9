import t from 'tap';
import { TokenBucket } from '../daemon/token-bucket.js';

t.test('a burst passes, then the rate holds', async (t) => {
  let now = 0;
  const bucket = new TokenBucket(10, 5, () => now);
  const first = Array.from({ length: 8 }, () => bucket.take());
  t.same(first, [true, true, true, true, true, false, false, false], 'burst of 5');
  now += 100;
  t.equal(bucket.take(), true, 'one token back after 100 ms at 10/s');
  t.equal(bucket.take(), false);
  now += 10_000;
  t.equal([...Array(10)].filter(() => bucket.take()).length, 5, 'refills only up to the burst');
});
