/** A build failure with a message that says what to fix; printed without a stack trace. */
export class BuildError extends Error {
  override name = 'BuildError';
}
