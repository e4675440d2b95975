import { isInside } from './allowed-roots.js';

/** True when one of two normalised real paths is the other or lies inside it. */
export function pathsOverlap(a: string, b: string): boolean {
  return isInside(a, b) || isInside(b, a);
}
