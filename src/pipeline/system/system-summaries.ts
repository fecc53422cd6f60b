/**
 * Summaries of a stretch of a camera's time, as a user asks for them (`system.summaries`; ADR 0073): one made
 * now of a window (its events and their snapshots asked about to the camera's vlm worker's model), the ones
 * kept, and where they are kept (the events store, set by whoever opened it: the app).
 *
 * Contract: ask() resolves with the summary (kept in the store and on the event stream as a `summary` event)
 * or rejects with a code (summaries.ts says which) and changes nothing else; list() and available() never
 * change anything. The HTTP API and MQTT (Home Assistant's button) both call ask().
 */
import type { SummaryQuery } from '../../objects/index.js';
import type { AskSummaryOptions, Summary, SummaryStore } from '../base/index.js';
import { SystemPart } from './system-part.js';

export class SystemSummaries extends SystemPart {
  /**
   * A summary of a window of a camera's time: `{ lastSeconds }` up to now, or `{ from, to? }` (epoch seconds or
   * ISO 8601; `to` defaults to now). ERR_UNKNOWN_CAMERA, ERR_SUMMARY_WINDOW, ERR_SUMMARY_NOT_CONFIGURED,
   * ERR_SUMMARY_NO_STORE, ERR_SUMMARY_BUSY, ERR_SUMMARY_BUDGET, or the endpoint's ERR_VLM_* code.
   */
  ask(camera: string, window: unknown, options: AskSummaryOptions = {}): Promise<Summary> {
    try {
      this.core.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.core.summaries.ask(camera, window, options);
  }

  /** The summaries kept (of one camera, or all), newest first; ERR_SUMMARY_NO_STORE without a store. */
  list(query: SummaryQuery = {}): Summary[] {
    return this.core.summaries.list(query);
  }

  /** Whether a camera of the system has summaries (its `summary` section, and a vlm worker to ask): Home Assistant's button is offered for it. */
  available(camera: string): boolean {
    const config = this.core.cameraConfig(camera);
    return config !== undefined && this.core.summaries.available(config);
  }

  /** The events store summaries read their window's events from and are kept in (the app's); null: none, and every ask is ERR_SUMMARY_NO_STORE. */
  setStore(store: SummaryStore | null): void {
    this.core.summaries.setStore(store);
  }
}
