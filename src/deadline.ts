/**
 * Settles like `work`, or rejects with `onTimeout()` once `ms` have passed. For calls whose library
 * offers no working timeout of its own; the abandoned work runs on until it ends by itself.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
