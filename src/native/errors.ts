/** The native cache directory cannot be used; the message names it and the setting that moves it. */
export class NativeCacheError extends Error {
  override name = 'NativeCacheError';
}
