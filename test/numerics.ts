// Comparison helpers for numerical tests.

/** max |a - b| / max |b|: the error of `a` relative to the reference `b`'s scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Deterministic token ids in [low, high) (no specials at the bottom of the vocabulary). */
export function tokenIds(count: number, seed: number, low = 4, high = 500): number[] {
  let state = seed * 2654435761;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return low + (state % (high - low));
  });
}
