// Preloaded into the real CLI by test/kill/sigkill.test.ts (NODE_OPTIONS=--import): when AIWATCH_TEST_PAUSE_MARKER
// names a file, the process stops just before renaming a finished .zip into place — its staging folder complete in
// TMPDIR, the whole zip written as a .partial in --out — writes its PID into that file and waits there until the
// test kills it. Nothing else changes: this only holds the process still at the moment worth killing.
import fs from 'node:fs';
import { setInterval } from 'node:timers';

const marker = process.env.AIWATCH_TEST_PAUSE_MARKER;
if (marker) {
  const rename = fs.promises.rename;
  fs.promises.rename = async function pausedRename(from, to) {
    if (String(to).endsWith('.zip')) {
      fs.writeFileSync(marker, `${process.pid}\n`);
      await new Promise(() => setInterval(() => undefined, 1000));
    }
    return rename.call(this, from, to);
  };
}
