import type { Load } from './common';
import { runThroughput } from './throughput';

/** 100-byte transient messages (deliveryMode 1) through a non-durable queue, consumer acking. */
export const transient: Load = {
  name: 'transient',
  description: '100 B, deliveryMode 1, non-durable queue, manual acks; msg/s consumed+acked',
  metrics: [{ key: 'msgPerSec', label: 'transient 100 B', unit: 'msg/s', better: 'higher' }],
  run: (ctx) => runThroughput(ctx, { tag: 'transient', size: 100, persistent: false, durableQueue: false, confirms: false }),
};
