/**
 * The person model's options and their defaults, apart from the model so
 * that checking them (the handler, the CLI) loads no model runtime: importing
 * TF.js costs every command's start-up.
 */

export const PERSON_NETWORKS = ['movenet-multipose', 'centernet'] as const;
export type PersonNetwork = (typeof PERSON_NETWORKS)[number];

/** Per network: default minimum score and (MultiPose) input size. */
export const PERSON_NETWORK_DEFAULTS = {
  /*
   * MultiPose scores small people low: on the labelled vtest.avi frame
   * (test/helpers/labelled-frame.ts) the 6 it finds at 448 × 352 score
   * 0.21–0.26 and nothing else scores above 0.05, so 0.15 keeps a margin both
   * ways. 448 is the smallest long side at which it finds 6 of the 7 people
   * there (4 at 384, 2 at 256; docs/benchmarks.md, PERSON-MODELS).
   */
  'movenet-multipose': { minConfidence: 0.15, inputSize: 448 },
  /* 0.3 also admits a rock (0.38) and a bag (0.32) there, while every true person found scores ≥ 0.47. */
  centernet: { minConfidence: 0.4, inputSize: 512 },
} as const satisfies Record<PersonNetwork, { minConfidence: number; inputSize: number }>;

export interface PersonModelOptions {
  /** Default `movenet-multipose`. */
  readonly network?: PersonNetwork;
  /** Directory with the network's .json and .bin files. Default: the package that ships them. */
  readonly modelDir?: string;
  /** Minimum detection score. Default per network (PERSON_NETWORK_DEFAULTS). */
  readonly minConfidence?: number;
  /** MultiPose: the input's long side in pixels, a multiple of 32 (the short side follows the frame, rounded to 32). Default 448. */
  readonly inputSize?: number;
  /** IoU above which overlapping boxes are merged (centernet). Default 0.4. */
  readonly iouThreshold?: number;
  readonly maxPeople?: number;
  /** Poses for the most confident people, up to this many (0: none). Default 5. */
  readonly poseMaxPeople?: number;
  /** XNNPACK threads of this model thread: 1 (default) is TF.js's SIMD build, more its threaded build (wasm-backend.ts), at most MAX_WASM_THREADS. */
  readonly wasmThreads?: number;
}

/** XNNPACK threads the threaded build has workers for (its pthread pool is 8). */
export const MAX_WASM_THREADS = 8;
