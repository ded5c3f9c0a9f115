#!/usr/bin/env node
// Entry point: checks the Node.js version, then runs the compiled CLI from dist/ (built by `npm ci` through the
// `prepare` script). Only syntax old Node parses, and every other import is dynamic and comes after the check:
// static imports are hoisted, so one here would be loaded (and could fail) before the check runs.
import { EXIT_OLD_NODE, nodeVersionProblem } from './node-check.js';

const tooOld = nodeVersionProblem(process.versions.node, process.platform, process.arch);
if (tooOld) {
  process.stderr.write(tooOld + '\n');
  process.exit(EXIT_OLD_NODE);
}

// A small V8 young generation (2 MiB semi-spaces; Node 24 lets them grow to 64 MiB): `build` streams hundreds of MiB
// through short-lived buffers, and the large default kept ~40-80 MiB more resident (docs/benchmarks.md). V8 reads
// this flag only at start, so the process re-executes itself once with it — process.execve keeps the PID, the stdio
// and the environment. Where execve is missing (Windows, older Node) or fails, it runs on as is.
// AIWATCH_DEPLOY_NO_REEXEC=1 turns this off.
// The same re-execution keeps WebAssembly on V8's baseline compiler: the PowerShell check's grammar has a 459 KB
// lexer function whose tier-up to the optimizing compiler takes ~2.1 GB for ~2 s, while the baseline code parses a
// 200 KB script in ~0.2 s (src/read/ps-parse.ts WASM_TIER_UP_OFF; verify of a .ps1: 2.1 GB → ~120 MB peak RSS).
const FLAGS = [['--max-semi-space-size=2', '--max-semi-space-size'], ['--no-wasm-tier-up', 'wasm-tier-up'], ['--no-wasm-dynamic-tiering', 'wasm-dynamic-tiering']];
const given = [...process.execArgv, process.env.NODE_OPTIONS || ''];
const missing = FLAGS.filter(([, name]) => !given.some((a) => a.includes(name))).map(([flag]) => flag);
if (missing.length > 0 && typeof process.execve === 'function' && process.env.AIWATCH_DEPLOY_NO_REEXEC !== '1') {
  try {
    process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)]);
  } catch {
    // run without the flag
  }
}

/**
 * Where Node's compile cache goes: the user's cache folder ($XDG_CACHE_HOME or ~/.cache, %LOCALAPPDATA% on
 * Windows), not the shared temporary folder (where another user could plant one, and where a run must leave
 * nothing). NODE_COMPILE_CACHE, when set, wins (Node reads it); without a home folder there is no cache.
 */
function compileCacheDir(path) {
  const env = process.env;
  if (env.NODE_COMPILE_CACHE) return undefined;
  const base = process.platform === 'win32' ? env.LOCALAPPDATA : env.XDG_CACHE_HOME || (env.HOME && path.join(env.HOME, '.cache'));
  return base ? path.join(base, 'aiwatch-deploy', 'node-compile-cache') : undefined;
}

async function start() {
  const { default: module } = await import('node:module');
  const { default: path } = await import('node:path');
  // Reuse compiled code between runs (Node >= 22.1): the CLI loads ~100 modules, and compiling them is a fixed
  // ~0.15 s of every start (docs/benchmarks.md).
  const dir = compileCacheDir(path);
  if (dir || process.env.NODE_COMPILE_CACHE) module.enableCompileCache(dir);
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(process.argv.slice(2));
}

start().catch((e) => {
  const unbuilt = e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/cli/main.js');
  process.stderr.write(unbuilt
    ? 'aiwatch-deploy: dist/ is missing (the compiled CLI): run npm ci, or npm run build in a clone\n'
    : 'aiwatch-deploy: internal error: ' + ((e && e.stack) || e) + '\n');
  process.exitCode = 4; // an internal error, as main() maps one (README "Exit codes")
});
