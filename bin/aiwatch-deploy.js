#!/usr/bin/env node
// Entry point: runs the compiled CLI from dist/ (built by `npm ci` through the `prepare` script).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
