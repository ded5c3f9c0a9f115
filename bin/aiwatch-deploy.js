#!/usr/bin/env node
// Entry point: runs the compiled CLI from dist/ (built by `npm ci` through the `prepare` script).
import module from 'node:module';

// Reuse compiled code between runs (Node ≥ 22.1; a no-op where unavailable): the CLI loads ~100 modules, and
// compiling them is a fixed ~0.15 s of every start (docs/benchmarks.md). The cache lives in the OS temp folder.
module.enableCompileCache?.();
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv.slice(2));
