import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-fast-check.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // WebAssembly stays on V8's baseline compiler, as in the CLI (bin/aiwatch-deploy.js): otherwise every test file
    // that parses PowerShell spends ~2 s and ~2.1 GB tiering up tree-sitter-powershell's lexer (src/read/ps-parse.ts).
    execArgv: ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'],
  },
});
