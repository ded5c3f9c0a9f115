/**
 * The local Kandji server inside a vitest test: started on 127.0.0.1 and stopped when the current test finishes
 * (server.ts itself does not import vitest).
 */
import { onTestFinished } from 'vitest';
import { startKandjiServer, type KandjiServer, type KandjiServerOptions } from './server.js';

export async function kandjiServer(opts: KandjiServerOptions = {}): Promise<KandjiServer> {
  const s = await startKandjiServer(opts);
  onTestFinished(() => s.close());
  return s;
}
