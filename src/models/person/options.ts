/**
 * The person model's options and their defaults, apart from the model so
 * that checking them (the handler, the CLI) loads no model runtime.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RuntimeOptions } from '../onnx/session.js';

export const PERSON_NETWORKS = ['movenet-multipose', 'centernet'] as const;
export type PersonNetwork = (typeof PERSON_NETWORKS)[number];

/** fp32: the networks as converted; int8: static QDQ variants (scripts/convert-models/quantize.py), faster at a small, measured accuracy cost. */
export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** Per network: default minimum score and (MultiPose) input size. */
export const PERSON_NETWORK_DEFAULTS = {
  /*
   * MultiPose scores small people low: on the labelled vtest.avi frame
   * (test/helpers/labelled-frame.ts) the 6 it finds at 448 × 352 score
   * 0.21–0.26 and nothing else scores above 0.05, so 0.15 keeps a margin both
   * ways. 448 is the smallest long side at which it finds 6 of the 7 people
   * there (4 at 384, 2 at 256; docs/benchmarks/notebook-2026-11-22-to-28.md, PERSON-MODELS).
   */
  'movenet-multipose': { minConfidence: 0.15, inputSize: 448 },
  /* 0.3 also admits a rock (0.38) and a bag (0.32) there, while every true person found scores ≥ 0.47. */
  centernet: { minConfidence: 0.4, inputSize: 512 },
} as const satisfies Record<PersonNetwork, { minConfidence: number; inputSize: number }>;

export interface PersonModelOptions extends RuntimeOptions {
  /** Default `movenet-multipose`. */
  readonly network?: PersonNetwork;
  /** Directory with the networks' .onnx files. Default: the package's models/ (scripts/convert-models made them). */
  readonly modelDir?: string;
  /** Default fp32. */
  readonly precision?: Precision;
  /** Minimum detection score. Default per network (PERSON_NETWORK_DEFAULTS). */
  readonly minConfidence?: number;
  /** MultiPose: the input's long side in pixels, a multiple of 32 (the short side follows the frame, rounded to 32). Default 448. */
  readonly inputSize?: number;
  /** IoU above which overlapping boxes are merged (centernet). Default 0.4. */
  readonly iouThreshold?: number;
  readonly maxPeople?: number;
  /** Poses for the most confident people, up to this many (0: none). Default 5. */
  readonly poseMaxPeople?: number;
  /**
   * A dark or flat picture (its sampled luma's mean or spread, src/pictures' low-light.ts) gets a tone curve before
   * the network sees it, a second look's crops too (ADR 0186). Default LOW_LIGHT_DEFAULT.
   */
  readonly lowLight?: boolean;
}

/**
 * How the person handler answers a second look's crop (a request marked `look`, ADR 0186, 0187): `thunder`, MoveNet
 * Thunder on the crop (look-pose.ts); `lightning`, MoveNet Lightning, a quarter of Thunder's CPU and fewer people
 * found lying; `lightning-then-model`, Lightning and, where it finds nobody, the handler's own network on the same
 * crop; `model`, the handler's own network, as any frame.
 */
export const PERSON_LOOKS = ['thunder', 'lightning', 'lightning-then-model', 'model'] as const;
export type PersonLook = (typeof PERSON_LOOKS)[number];
/** The look the person handler runs unless told (ADR 0187). */
export const PERSON_LOOK_DEFAULT: PersonLook = 'thunder';

/** Whether the person model brightens low-light pictures unless told (ADR 0186). */
export const LOW_LIGHT_DEFAULT = false;

/** The package's models/ directory: dist/src/models/person → the package root. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../../../models/', import.meta.url));

/** A network's file name: `movenet-multipose.onnx`, `movenet-multipose-int8.onnx`. */
export const modelFile = (name: string, precision: Precision = 'fp32'): string => `${name}${precision === 'int8' ? '-int8' : ''}.onnx`;

/** The detector network's file the options name. */
export function personNetworkPath(o: Pick<PersonModelOptions, 'network' | 'precision' | 'modelDir'>): string {
  return join(o.modelDir ?? DEFAULT_MODEL_DIR, modelFile(o.network ?? 'movenet-multipose', o.precision ?? 'fp32'));
}
