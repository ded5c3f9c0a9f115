/**
 * The local Fleet server inside a vitest test: started on 127.0.0.1:0 and stopped when the current test finishes.
 */
import { onTestFinished } from 'vitest';
import { startFleetServer, type FleetServer, type FleetServerOptions } from './server.js';

export async function fleetServer(opts: FleetServerOptions = {}): Promise<FleetServer> {
  const s = await startFleetServer(opts);
  onTestFinished(() => s.close());
  return s;
}
