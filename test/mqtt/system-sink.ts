/**
 * A system and its MQTT sink, composed as the app composes them, for the MQTT
 * tests against a real broker: the sink starts before the system, so it sees
 * every event from the first; close() ends the sink, then the system.
 */
import type { Logger } from '../../src/internal/logger.js';
import { MqttSink } from '../../src/mqtt/index.js';
import { VisionSystem, type ResolvedConfig } from '../../src/pipeline/index.js';

export interface SystemWithSink {
  readonly system: VisionSystem;
  readonly sink: MqttSink;
  readonly close: () => Promise<void>;
}

export async function startSystemWithSink(
  config: ResolvedConfig,
  log: Logger,
  options: { readonly sweepRetained?: boolean | 'node-configs' } = {},
): Promise<SystemWithSink> {
  const system = new VisionSystem({ config, logger: log, drainTimeoutMs: 2_000 });
  const sink = new MqttSink({ system, config: config.mqtt!, logger: log.child({ component: 'mqtt' }), ...options }).start();
  await system.start();
  return {
    system,
    sink,
    close: async () => {
      await sink.close();
      await system.close();
    },
  };
}
