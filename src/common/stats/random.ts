/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit seeded PRNG. Good enough for bootstrap
 * resampling and, unlike Math.random, the same seed gives the same confidence interval on every run.
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
