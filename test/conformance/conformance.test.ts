/// <reference types="vite/client" />
// One conformance suite, every backend: each file in ./backends/ exports `backend`.
import type { Backend } from './backend.ts';
import { keysCases } from './keys-cases.ts';
import { storageCases } from './storage-cases.ts';

const modules = import.meta.glob<{ backend: Backend }>('./backends/*.ts', { eager: true });

for (const { backend } of Object.values(modules)) {
  storageCases(backend);
  keysCases(backend);
}
