/**
 * The yardstick, rewritten from Frigate's public "improved" motion detector
 * (frigate/motion/improved_motion.py) as its defaults run it: the picture
 * resized to 100 rows, its contrast stretched between the 4th and 96th
 * percentiles averaged over the last 50 frames, a Gaussian blur, the
 * difference against a running average (alpha 0.2 while calibrating, else
 * 0.01) thresholded at 30, dilated, regions over 10 pixels kept; a picture
 * more than 80 % moved sends it back to calibrating. Only for the tests that
 * show where framesupplier's detector does better; never shipped.
 */
import type { Box } from '../../src/objects/index.js';

export class FrigateLikeMotion {
  readonly #h = 100;
  #w = 0;
  #avg = new Float32Array(0);
  readonly #contrast: [number, number][] = Array.from({ length: 50 }, () => [0, 255]);
  #contrastIndex = 0;
  #calibrating = true;
  #motionFrames = 0;

  detect(luma: Uint8Array, width: number, height: number): Box[] {
    const h = this.#h;
    const w = Math.round((h * width) / height);
    if (this.#w !== w) {
      this.#w = w;
      this.#avg = new Float32Array(w * h);
    }
    const n = w * h;
    let frame = new Float32Array(n);
    for (let y = 0; y < h; y++) {
      const sy = Math.min(height - 1, Math.floor((y * height) / h));
      for (let x = 0; x < w; x++) frame[y * w + x] = luma[sy * width + Math.min(width - 1, Math.floor((x * width) / w))]!;
    }
    const sorted = Float32Array.from(frame).sort();
    const min = Math.floor(sorted[Math.floor(0.04 * (n - 1))]!);
    const max = Math.floor(sorted[Math.floor(0.96 * (n - 1))]!);
    if (min < max) {
      this.#contrast[this.#contrastIndex] = [min, max];
      this.#contrastIndex = (this.#contrastIndex + 1) % this.#contrast.length;
      const avgMin = this.#contrast.reduce((s, c) => s + c[0], 0) / this.#contrast.length;
      const avgMax = this.#contrast.reduce((s, c) => s + c[1], 0) / this.#contrast.length;
      for (let i = 0; i < n; i++) frame[i] = Math.floor(((Math.min(avgMax, Math.max(avgMin, frame[i]!)) - avgMin) / (avgMax - avgMin)) * 255);
    }
    // Gaussian, sigma 1, radius 1, separable.
    const k = [0.2741, 0.4519, 0.2741];
    const tmp = new Float32Array(n);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        tmp[y * w + x] = k[0]! * frame[y * w + Math.max(0, x - 1)]! + k[1]! * frame[y * w + x]! + k[2]! * frame[y * w + Math.min(w - 1, x + 1)]!;
    const blurred = new Float32Array(n);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        blurred[y * w + x] = Math.round(k[0]! * tmp[Math.max(0, y - 1) * w + x]! + k[1]! * tmp[y * w + x]! + k[2]! * tmp[Math.min(h - 1, y + 1) * w + x]!);
    frame = blurred;
    const thresh = new Uint8Array(n);
    for (let i = 0; i < n; i++) thresh[i] = Math.abs(frame[i]! - Math.min(255, Math.round(Math.abs(this.#avg[i]!)))) > 30 ? 1 : 0;
    const dilated = new Uint8Array(n);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let on = 0;
        for (let dy = -1; dy <= 1 && on === 0; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const X = x + dx;
            const Y = y + dy;
            if (X >= 0 && X < w && Y >= 0 && Y < h && thresh[Y * w + X] === 1) {
              on = 1;
              break;
            }
          }
        dilated[y * w + x] = on;
      }
    const seen = new Uint8Array(n);
    const boxes: Box[] = [];
    let total = 0;
    for (let s = 0; s < n; s++) {
      if (dilated[s] === 0 || seen[s] === 1) continue;
      const stack = [s];
      seen[s] = 1;
      let area = 0;
      let x1 = w;
      let y1 = h;
      let x2 = 0;
      let y2 = 0;
      while (stack.length > 0) {
        const i = stack.pop()!;
        area++;
        const x = i % w;
        const y = (i - x) / w;
        x1 = Math.min(x1, x);
        x2 = Math.max(x2, x);
        y1 = Math.min(y1, y);
        y2 = Math.max(y2, y);
        for (const j of [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1]) {
          if (j >= 0 && dilated[j] === 1 && seen[j] === 0) {
            seen[j] = 1;
            stack.push(j);
          }
        }
      }
      total += area;
      if (area > 10) boxes.push([x1 / w, y1 / h, (x2 + 1) / w, (y2 + 1) / h]);
    }
    const pct = total / n;
    if (pct < 0.05 && boxes.length <= 4) this.#calibrating = false;
    if (this.#calibrating || pct > 0.8) this.#calibrating = true;
    const alpha = this.#calibrating ? 0.2 : 0.01;
    const accumulate = (): void => {
      for (let i = 0; i < n; i++) this.#avg[i] = (1 - alpha) * this.#avg[i]! + alpha * frame[i]!;
    };
    if (boxes.length > 0) {
      this.#motionFrames++;
      if (this.#motionFrames >= 10) accumulate();
    } else {
      accumulate();
      this.#motionFrames = 0;
    }
    return boxes;
  }
}
