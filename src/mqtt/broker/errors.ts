/**
 * MQTT's errors: FrameSupplierError subclasses with stable codes, listed in
 * docs/errors.md. Only start() throws (an unreadable TLS file, a call after
 * close()); what goes wrong with the broker or its messages while running is
 * a state, a count in stats() and a log line with one of these codes, never a
 * throw into the system.
 */
import { FrameSupplierError } from '../../supplier/index.js';

export type MqttErrorCode =
  /** The mqtt section cannot be used as it is (an unreadable TLS file). */
  | 'ERR_MQTT_CONFIG'
  /** A connection attempt failed or the connection was lost (logged; the sink reconnects). */
  | 'ERR_MQTT_CONNECTION'
  /** A message on a command topic was not a valid command (logged, ignored). */
  | 'ERR_MQTT_BAD_COMMAND'
  /** Object events were dropped because the offline queue was full (logged, counted). */
  | 'ERR_MQTT_QUEUE_OVERFLOW'
  /** A result could not be published as JSON (logged once per worker, counted). */
  | 'ERR_MQTT_UNSERIALIZABLE'
  /** start() after close(). */
  | 'ERR_MQTT_CLOSED';

export class MqttError extends FrameSupplierError<MqttErrorCode> {}
