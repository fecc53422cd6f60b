/**
 * The commands subfolder of the MQTT sink (ADR 0183): what comes in from the broker, untrusted: per-worker ON, OFF and
 * RESTART, summary requests, Home Assistant's birth message, and the counts and rate-limited warn lines by which
 * other parts' commands (the fall alerts' acknowledgements) are refused (commands.ts). It imports broker/ alone.
 *
 * This index is the subfolder's surface: the names the other subfolders and src/mqtt/index.ts import from it, and no more.
 */
export { CommandHandler, parseCommand } from './commands.js';
