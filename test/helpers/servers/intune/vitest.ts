/**
 * The local Intune server inside vitest: {@link useAzurite} starts one Azurite per test file (beforeAll; stopped in
 * afterAll — it takes ~0.7 s and ~140 MiB), {@link intuneServer} one Graph + token server per test (stopped when the
 * test ends; its blob containers are deleted from Azurite then).
 */
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { startAzurite, type Azurite } from './azurite.js';
import { startIntuneServer, type IntuneServer } from './server.js';
import type { IntuneServerOptions } from './types.js';

let azurite: Azurite | undefined;

/** Call at the top of a test file. */
export function useAzurite(): () => Azurite {
  beforeAll(async () => {
    azurite = await startAzurite({ memoryLimitMiB: 512 });
  }, 30_000);
  afterAll(async () => {
    await azurite?.stop();
    azurite = undefined;
  });
  return () => {
    if (!azurite) throw new Error('useAzurite(): Azurite is not running (call it at the top of the test file)');
    return azurite;
  };
}

export async function intuneServer(opts: Omit<IntuneServerOptions, 'storageUrl'> = {}): Promise<IntuneServer> {
  if (!azurite) throw new Error('intuneServer(): call useAzurite() at the top of the test file');
  const s = await startIntuneServer({ ...opts, storageUrl: azurite.accountUrl });
  onTestFinished(() => s.close());
  return s;
}
