/**
 * src/cli/release-trust.ts with an injected sleep, driving src/release/release.ts directly: the pauses of a build that
 * waits for Apple to publish a fresh ticket, the end of that wait (exit 6, nothing written), and a notary outage
 * (exit 5) — each in milliseconds instead of minutes.
 */
import path from 'node:path';
import { PassThrough } from 'node:stream';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/command.js';
import { readArgs } from '../../src/cli/options.js';
import { addReleaseTrustOptions, RELEASE_TRUST_OPTIONS, releaseTrustFromArgs, type TrustDeps } from '../../src/cli/release-trust.js';
import { TICKET_WAITS_MS } from '../../src/release/notarize-step.js';
import { FIXTURES_DIR } from '../../src/config/paths.js';
import { loadSpec } from '../../src/config/spec.js';
import { NetworkError, RemoteRejection } from '../../src/errors.js';
import { buildRelease } from '../../src/release/release.js';
import { fakeTicket } from '../helpers/servers/ticket.js';
import { sendJson, startLocalServer } from '../helpers/servers/listen.js';
import { filesIn, recordNameOf, startTrustServers, tempDir, type TrustServers } from './helpers.js';

function context(lines: string[]): CliContext {
  const stdin = new PassThrough();
  stdin.end();
  return { json: false, stdout: () => undefined, stderr: (t) => void lines.push(t), stdin, env: {}, isTTY: false, cwd: process.cwd(), signal: new AbortController().signal, warn: (m) => void lines.push(`WARNING: ${m}\n`) };
}

async function build(s: TrustServers, argv: string[], deps: TrustDeps, out: string, lines: string[] = []) {
  const args = readArgs(addReleaseTrustOptions(yargs(argv).exitProcess(false).strict()).parseSync(), RELEASE_TRUST_OPTIONS);
  const spec = await loadSpec(undefined);
  const trust = await releaseTrustFromArgs(args, context(lines), spec, deps);
  return buildRelease({
    spec, version: '1.0.0', arch: 'arm64', binary: path.join(FIXTURES_DIR, 'demo', 'aiwatch-arm64'), outDir: out, epoch: 315532800, builderVersion: 'test', developmentBuild: true, ...trust,
  });
}

describe('release trust steps (injected sleep)', () => {
  it('after Accepted, looks for the ticket again until Apple publishes it, pausing as configured', async () => {
    const s = await startTrustServers({ publish: false });
    const sleeps: number[] = [];
    const sleep = async (ms: number): Promise<void> => {
      sleeps.push(ms);
      if (sleeps.length === 2) {
        const uploaded = [...s.s3.objects.values()][0]!;
        s.tickets.tickets.set(recordNameOf(uploaded.bytes), fakeTicket('late'));
      }
    };
    const out = tempDir('trust-late');
    const lines: string[] = [];
    const r = await build(s, ['--sign', ...s.signArgs, '--notarize', ...s.notaryArgs, '--staple', ...s.stapleArgs], { sleep, ticketWaitsMs: [7, 11, 13] }, out, lines);
    expect(sleeps).toEqual([7, 11]);
    expect(s.tickets.asked).toHaveLength(3);
    expect(r.manifest.pkg).toEqual({ signed: true, notarized: true, stapled: true });
    expect(lines.filter((l) => l.startsWith('staple: no ticket published yet'))).toHaveLength(2);
    expect(filesIn(out)).toEqual(['aiwatch-1.0.0-macos-arm64.zip']);
  });

  it('a ticket that never appears ends the build with the lookup refusal (exit 6) after every pause; nothing written', async () => {
    const s = await startTrustServers({ publish: false });
    const sleeps: number[] = [];
    const out = tempDir('trust-noticket-lib');
    const err = await build(s, ['--sign', ...s.signArgs, '--notarize', ...s.notaryArgs, '--staple', ...s.stapleArgs], { sleep: async (ms) => void sleeps.push(ms) }, out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteRejection);
    expect((err as RemoteRejection).exitCode).toBe(6);
    expect(sleeps).toEqual([...TICKET_WAITS_MS]);
    expect(s.tickets.asked).toHaveLength(TICKET_WAITS_MS.length + 1);
    expect(filesIn(out)).toEqual([]);
  });

  it('a notary answering 500 forever: 4 retries 1, 2, 4, 8 s apart, then NetworkError (exit 5); nothing uploaded or written', async () => {
    const s = await startTrustServers();
    const down = await startLocalServer((_req, res) => sendJson(res, 500, {}));
    const sleeps: number[] = [];
    const out = tempDir('trust-500-lib');
    const argv = ['--sign', ...s.signArgs, '--notarize', ...s.notaryArgs.map((a) => (a.startsWith(s.notary.url) ? `${down.url}/notary/v2` : a))];
    const err = await build(s, argv, { sleep: async (ms) => void sleeps.push(ms) }, out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).exitCode).toBe(5);
    expect(sleeps).toEqual([1000, 2000, 4000, 8000]);
    expect(s.s3.objects.size).toBe(0);
    expect(filesIn(out)).toEqual([]);
  });

  it('--staple alone does not wait: one lookup, then the refusal', async () => {
    const s = await startTrustServers({ publish: false });
    const sleeps: number[] = [];
    const err = await build(s, ['--sign', ...s.signArgs, '--staple', ...s.stapleArgs], { sleep: async (ms) => void sleeps.push(ms) }, tempDir('trust-staple-only')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteRejection);
    expect(sleeps).toEqual([]);
    expect(s.tickets.asked).toHaveLength(1);
  });
});
