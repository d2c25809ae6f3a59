// @duckdb/node-bindings picks its native module with a `switch` of requires, one per platform. In the
// bundle the target's case calls src/native/binding.ts (which dlopens the extracted SEA asset); every
// other case throws, so no foreign platform's binding is looked for.
import path from 'node:path';
import type { Plugin } from 'esbuild';
import type { Target } from './targets.ts';

const BINDING = /^@duckdb\/node-bindings-([^/]+)\/duckdb\.node$/;

export function duckdbBindingPlugin(target: Target, root: string): Plugin {
  const loader = path.join(root, 'src', 'native', 'binding.ts');
  return {
    name: 'duckdb-binding',
    setup(build) {
      build.onResolve({ filter: BINDING }, (args) => ({ path: args.path, namespace: 'duckdb-binding' }));
      build.onLoad({ filter: /.*/, namespace: 'duckdb-binding' }, (args) => {
        const platform = BINDING.exec(args.path)![1]!;
        const contents = platform === target.name
          ? `module.exports = require(${JSON.stringify(loader)}).nativeBinding();`
          : `throw new Error(${JSON.stringify(`DuckDB's binding for ${platform} is not in this ${target.name} executable`)});`;
        return { contents, loader: 'js', resolveDir: root };
      });
    },
  };
}
