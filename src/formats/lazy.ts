/**
 * A CommonJS dependency loaded on its first use instead of at import time. Several libraries serve only some
 * commands or some paths (xmlbuilder2 writes XML only in `build`, handlebars renders templates, ajv checks the JSON
 * a user gives, yaml reads Apple's raw schemas); importing them statically made every start of the CLI load them
 * (~190 modules for xmlbuilder2 alone, docs/benchmarks.md "Start-up"). Synchronous, so callers keep their shape.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** `() => require(id)`, memoised. The type is the module's own (`typeof import('id')`). */
export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= requireHere(id) as T);
}
