/** Builds dist/ once before the suite so tests that spawn `bin/aiwatch-deploy.js` run the current sources. */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
