/** Shared test helpers for the supplier context. */
import type { FrameInput } from '../../src/supplier/index.js';

export function rgbFrame(width = 4, height = 2, extra: Partial<FrameInput> = {}): FrameInput {
  return { payload: new Uint8Array(width * height * 3), width, height, format: 'rgb24', ...extra };
}

/**
 * Distribution is one microtask queued by publish(); any await after publish()
 * runs after it. This names that step in tests.
 */
export const afterDistribution = (): Promise<void> => Promise.resolve();
