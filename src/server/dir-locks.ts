import { sep } from 'node:path';

/** True when one of two normalised real paths is the other or lies inside it. */
export function pathsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const inside = (child: string, parent: string) =>
    child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
  return inside(a, b) || inside(b, a);
}
