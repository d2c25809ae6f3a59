/** The cloud-facing part of the configuration, the same for every cloud (names from DESIGN.md). */
export interface CloudSettings {
  bucket?: string;
  region?: string;
  endpoint?: string;
  key?: string;
}

/** The SDK clients a cloud module opens. The adapters that wrap them come with the cloud-adapters issue. */
export interface CloudClients {
  storage: object;
  keys: object | null;
}
