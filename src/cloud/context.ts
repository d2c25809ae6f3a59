/**
 * An encryption context as bytes, the same on every cloud: keys sorted, JSON. Used as associated data
 * where the service takes bytes (Cloud KMS) or where the adapter binds the context itself (Key Vault).
 */
export function canonicalContext(context: Record<string, string> = {}): Uint8Array {
  const sorted = Object.keys(context).sort().map((key) => [key, context[key]]);
  return new TextEncoder().encode(JSON.stringify(sorted));
}
