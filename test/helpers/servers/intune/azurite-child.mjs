// Azurite's Blob service (npm `azurite`, Microsoft's Azure Storage emulator) in a child process of its own, for the
// local Intune server's tests and the upload bench: 127.0.0.1, a free port, in-memory persistence, no access log,
// strict (loose mode off: unsupported headers and parameters are refused; API versions are checked), no telemetry.
// Azurite's own `azurite-blob` entry takes ~5 s to start here because it also loads the SQL back end; this loads only
// the LokiJS / in-memory Blob server (~0.7 s). It prints one JSON line
// `{"port": n}` when listening and stops on SIGTERM, SIGINT or when its parent closes stdin.
//
//   node test/helpers/servers/intune/azurite-child.mjs [extentMemoryLimitMiB]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const BlobServer = require('azurite/dist/src/blob/BlobServer.js').default;
const BlobConfiguration = require('azurite/dist/src/blob/BlobConfiguration.js').default;
const { SharedChunkStore } = require('azurite/dist/src/common/persistence/MemoryExtentStore.js');

const limitMiB = Number(process.argv[2] ?? '2048');
SharedChunkStore.setSizeLimit(limitMiB * 1024 * 1024);

// host, port, keep-alive (s), metadata db, extent db, persistence paths, access log, log stream, debug log, debug
// path, loose, skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, in-memory.
const config = new BlobConfiguration('127.0.0.1', 0, 5, ':memory:blob', ':memory:extent', [{ locationId: 'Default', locationPath: ':memory:', maxConcurrency: 1 }], false, undefined, false, undefined, false, false, '', '', '', undefined, true, true);
const server = new BlobServer(config);
await server.start();
const address = server.getHttpServerAddress();
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
