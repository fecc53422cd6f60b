/** A module worker that takes 20 s per frame and ignores its signal: shutdown must not wait for it past the drain deadline. */
export default async function slow(frame: { seq: number }): Promise<{ seq: number }> {
  await new Promise((resolve) => setTimeout(resolve, 20_000));
  return { seq: frame.seq };
}
