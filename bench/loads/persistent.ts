import type { Load } from './common';
import { runThroughput } from './throughput';

/** 1 KB persistent messages (deliveryMode 2) with publisher confirms into a durable queue. */
export const persistent: Load = {
  name: 'persistent',
  description: '1 KB, deliveryMode 2, publisher confirms (window), durable queue, manual acks; msg/s confirmed+consumed',
  metrics: [{ key: 'msgPerSec', label: 'persistent 1 KB + confirms', unit: 'msg/s', better: 'higher' }],
  run: (ctx) => runThroughput(ctx, { tag: 'persistent', size: 1024, persistent: true, durableQueue: true, confirms: true }),
};
