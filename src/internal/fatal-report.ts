/**
 * A process's last word when it dies of a fault or of abort(): one JSON line on its log's descriptor, at level
 * fatal with code ERR_FATAL_SIGNAL, naming the signal, the fault's kind and address or who sent it, the thread
 * (a decoder's, libav's, Node's) and the native stack as library+offset, written by the shared-memory addon's
 * handler (native/fatal_report.c) just before the process ends by that signal as it would have anyway. Handlers
 * that absorb such signals (V8's WebAssembly traps, the store's SIGBUS guard) still do, and then nothing is
 * written. Without the addon nothing changes: the process dies as before, and the reason is said at start by
 * the addon's own warning.
 */
import { logDescriptor, type Logger } from './logger.js';
import { addonCandidates, loadAddon } from './native-addon.js';

interface FatalReportAddon {
  installFatalReport?: (fd: number) => boolean;
}

/** Installs the report, writing to `fd` (the log's); null once installed, else why it is not (said once by the caller). */
export function installFatalSignalReport(fd = 2): string | null {
  if (process.platform !== 'linux') return `the fatal-signal report is Linux's (this is ${process.platform})`;
  const found = loadAddon<FatalReportAddon>(addonCandidates('framesupplier_shm'));
  if (found.addon === null) return `the shared-memory addon does not load (${found.problems.join('; ')})`;
  if (typeof found.addon.installFatalReport !== 'function') return `the shared-memory addon at ${found.path} predates the fatal-signal report (rebuild it)`;
  try {
    return found.addon.installFatalReport(fd) ? null : 'the fatal-signal report could not be installed';
  } catch (error) {
    return `the fatal-signal report could not be installed: ${String((error as Error)?.message ?? error)}`;
  }
}

/** Installs the report on `log`'s descriptor, as the system's and a model server's entry points do; why not, once at info. */
export function reportFatalSignalsTo(log: Logger): void {
  const unreported = installFatalSignalReport(logDescriptor(log));
  if (unreported !== null) log.info({ addon: 'framesupplier_shm' }, `a fatal signal would end the process without a log line: ${unreported}`);
}
