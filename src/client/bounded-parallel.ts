/**
 * Runs `work` on every item with at most `limit` running at once. Every item is attempted;
 * if any failed, the first failure is thrown once all have settled (nothing left floating).
 */
export async function forEachLimited<T>(items: Iterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const runner = async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      try {
        await work(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, runner));
  if (failure !== undefined) throw failure.error;
}
