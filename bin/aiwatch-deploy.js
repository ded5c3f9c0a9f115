#!/usr/bin/env node
// Entry point: runs the compiled CLI from dist/ (built by `npm ci` through the `prepare` script).
import module from 'node:module';

// A small V8 young generation (2 MiB semi-spaces; Node 24 lets them grow to 64 MiB): `build` streams hundreds of MiB
// through short-lived buffers, and the large default kept ~40-80 MiB more resident (docs/benchmarks.md). V8 reads
// this flag only at start, so the process re-executes itself once with it — process.execve keeps the PID, the stdio
// and the environment. Where execve is missing (Windows, older Node) or fails, it runs on as is.
// AIWATCH_DEPLOY_NO_REEXEC=1 turns this off.
const SEMI_SPACE = '--max-semi-space-size=2';
const hasSemiSpace = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--max-semi-space-size'));
if (!hasSemiSpace && typeof process.execve === 'function' && process.env.AIWATCH_DEPLOY_NO_REEXEC !== '1') {
  try {
    process.execve(process.execPath, [process.execPath, SEMI_SPACE, ...process.execArgv, ...process.argv.slice(1)]);
  } catch {
    // run without the flag
  }
}

// Reuse compiled code between runs (Node ≥ 22.1; a no-op where unavailable): the CLI loads ~100 modules, and
// compiling them is a fixed ~0.15 s of every start (docs/benchmarks.md). The cache lives in the OS temp folder.
module.enableCompileCache?.();
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv.slice(2));
