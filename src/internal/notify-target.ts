/**
 * Where a fall alert's escalation step tells (ADR 0159), and how a target may be shown: config check, the alert's
 * log and the process's log lines name a target by its name, its MQTT topic, or a webhook's scheme and host only.
 * A webhook's URL may carry a token anywhere (user info, path, query), so nothing else of it is ever shown.
 */
export type NotifyTarget =
  { readonly mqtt: string; readonly name?: string } | { readonly webhook: string; readonly name?: string; readonly timeoutMs?: number };

/** A target as it may be shown and logged. */
export function targetLabel(target: NotifyTarget): string {
  if (target.name !== undefined) return target.name;
  if ('mqtt' in target) return `mqtt:${target.mqtt}`;
  try {
    const url = new URL(target.webhook);
    return `webhook:${url.protocol}//${url.host}/…`;
  } catch {
    return 'webhook:(not a URL)';
  }
}
