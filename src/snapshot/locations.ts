// Snapshot store locations as URLs, for the commands that name a store other than the configured one
// (`replicate --from URL --to URL`): which cloud, which bucket, which prefix. Names are checked here
// against each service's rules, so a typo is a usage error naming the URL, not an SDK error later.
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../cloud/errors.ts';
import type { CloudName } from '../cloud/types.ts';

export interface Location {
  cloud: CloudName;
  /** As CloudSettings.bucket: the bucket, `<account>/<container>` on Azure, the directory for file://. */
  bucket: string;
  /** '' or a folder without leading or trailing '/'. */
  prefix: string;
  /** The URL in its canonical form, as the storage adapter names it: `s3://bucket/prefix`. */
  url: string;
}

export const LOCATION_FORMS = 's3://bucket/prefix, gs://bucket/prefix, az://account/container/prefix or file:///absolute/dir';

const SCHEMES: Record<string, CloudName> = { s3: 'aws', gs: 'gcp', az: 'azure', file: 'local' };

// Each service's naming rules (S3: 3-63, no underscores; GCS: dots allow up to 222; Azure as its storage adapter checks).
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const GCS_BUCKET = /^(?=.{3,222}$)(?!.*[^.]{64})[a-z0-9][a-z0-9._-]*[a-z0-9]$/;
const AZURE_ACCOUNT = /^[a-z0-9]{3,24}$/;
const AZURE_CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

/** `what` names the flag or setting in messages: `--to`. */
export function parseLocation(text: string, what: string): Location {
  // Credentials in a URL are refused, and the URL is never quoted with them: messages land in logs.
  const userInfo = /^[a-z0-9]+:\/\/[^/]*@/i.test(text);
  const shown = userInfo ? text.replace(/^([a-z0-9]+:\/\/)[^/]*@/i, '$1(credentials removed)@') : text;
  const invalid = (why: string) => new ConfigError(`${what} ${JSON.stringify(shown)}: ${why}; use ${LOCATION_FORMS}`);
  if (userInfo) throw invalid('credentials do not belong in a store URL: they come from the platform identity or the SDK chain');
  const match = /^([a-z0-9]+):\/\/(.*)$/i.exec(text);
  if (!match) throw invalid('not a store URL');
  const scheme = match[1]!.toLowerCase();
  const cloud = SCHEMES[scheme];
  if (!cloud) throw invalid(`unknown scheme ${scheme}://`);
  const rest = match[2]!;
  if (/[?#]/.test(rest)) throw invalid('a store URL has no query or fragment');

  if (cloud === 'local') {
    if (!rest.startsWith('/')) throw invalid('a file URL names an absolute directory, with three slashes');
    let dir: string;
    try {
      dir = fileURLToPath(text);
    } catch (error) {
      throw invalid((error as Error).message);
    }
    const trimmed = dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
    return { cloud, bucket: trimmed, prefix: '', url: `file://${trimmed}` };
  }

  if (rest.replace(/\/+$/, '') === '') throw invalid(`the URL names no ${cloud === 'azure' ? 'account' : 'bucket'}`);
  const segments = rest.replace(/\/+$/, '').split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw invalid('empty, "." and ".." path segments are not allowed');
  }
  const container = cloud === 'azure' ? 2 : 1;
  if (segments.length < container) throw invalid('an Azure URL names the account and the container');
  const names = segments.slice(0, container);
  const prefix = segments.slice(container).join('/');
  if (cloud === 'aws' && !S3_BUCKET.test(names[0]!)) throw invalid(`"${names[0]}" is not an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`);
  if (cloud === 'gcp' && !GCS_BUCKET.test(names[0]!)) throw invalid(`"${names[0]}" is not a Cloud Storage bucket name (3-63 lowercase letters, digits, dots, hyphens, underscores)`);
  if (cloud === 'azure' && !AZURE_ACCOUNT.test(names[0]!)) throw invalid(`"${names[0]}" is not a storage account name (3-24 lowercase letters and digits)`);
  if (cloud === 'azure' && !AZURE_CONTAINER.test(names[1]!)) throw invalid(`"${names[1]}" is not a container name (3-63 lowercase letters, digits and single hyphens)`);
  const bucket = names.join('/');
  return { cloud, bucket, prefix, url: `${scheme}://${bucket}${prefix ? `/${prefix}` : ''}` };
}
