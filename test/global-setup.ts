/**
 * Builds dist/ once before the suite so tests that spawn `bin/aiwatch-deploy.js` run the current sources.
 * A type error does not stop the build's output (tsc emits anyway) and is reported by `npm run lint`, which
 * `npm test` runs after vitest; so here a failing tsc only warns.
 */
import { spawnSync } from 'node:child_process';

export default function setup(): void {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`global-setup: tsc reported errors (see npm run lint):\n${r.stdout.slice(0, 2000)}\n`);
}
