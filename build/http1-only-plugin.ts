// skyduck serves HTTP/1.1 only: TLS and HTTP/2 end at the load balancer or ingress in front of it.
// @hono/node-server imports node:http2 at load time just to test `incoming instanceof Http2ServerRequest`;
// loading node:http2 pulls in TLS and costs about 7 ms of start-up (bench/). Inside @hono/node-server
// only, node:http2 is replaced by a stand-in whose request class nothing is an instance of, and whose
// server constructors fail loudly should HTTP/2 ever be asked for.
import type { Plugin } from 'esbuild';

const STAND_IN = `
class Http2ServerRequest {}
class Http2ServerResponse {}
const refuse = () => { throw new Error('this skyduck build serves HTTP/1.1 only'); };
module.exports = { Http2ServerRequest, Http2ServerResponse, constants: { NGHTTP2_NO_ERROR: 0 }, createServer: refuse, createSecureServer: refuse };
`;

export function http1OnlyPlugin(): Plugin {
  return {
    name: 'http1-only',
    setup(build) {
      build.onResolve({ filter: /^(node:)?http2$/ }, (args) =>
        /[\\/]node_modules[\\/]@hono[\\/]node-server[\\/]/.test(args.importer) ? { path: 'http2', namespace: 'http1-only' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'http1-only' }, () => ({ contents: STAND_IN, loader: 'js' }));
    },
  };
}
