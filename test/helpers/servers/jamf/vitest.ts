/**
 * The local Jamf Pro server inside a vitest test: started on 127.0.0.1:0 and stopped when the current test
 * finishes (server.ts itself does not import vitest, so the bench can run it alone).
 */
import { onTestFinished } from 'vitest';
import { startJamfServer, type JamfServer, type JamfServerOptions } from './server.js';

export async function jamfServer(opts: JamfServerOptions = {}): Promise<JamfServer> {
  const s = await startJamfServer(opts);
  onTestFinished(() => s.close());
  return s;
}
