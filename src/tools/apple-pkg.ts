/**
 * `build --builder apple` (macOS only): the product archive made by Apple's own `pkgbuild` and `productbuild` from
 * the same inputs the built-in builder (src/pkg/flat-package.ts) uses — for teams that prefer Apple's tools, and for
 * the parity test that compares the two (test/release/apple-builder.test.ts).
 *
 * Staging, inside the build's private temporary folder (`<work>/apple/`):
 *   root/<installPath>, root/Library/Launch…/<label>.plist   the binary 0755, plists 0644, folders 0755
 *   scripts/preinstall, scripts/postinstall                   0755
 *   Distribution                                              ours, byte for byte (productDistribution)
 *   component/<component>.pkg                                 pkgbuild's output, e.g. aiwatch.pkg
 * Every staged file and folder gets mtime = SOURCE_DATE_EPOCH, since pkgbuild records on-disk times in the Payload.
 *
 * The command lines (exact argv in {@link pkgbuildArgs} and {@link productbuildArgs}):
 *   pkgbuild --root R --identifier <packageIdentifier> --version V --install-location / --scripts S
 *            --ownership recommended <component>/aiwatch.pkg
 *   productbuild --distribution D --package-path <component> OUT
 * Decisions:
 *   - `--ownership recommended` is pkgbuild's default, spelled out: a build that drops it (or says `preserve`) ships
 *     the CI user's uid/gid in the Payload, and root-installed files become user-writable (reference peers.md).
 *   - `--install-location /`: the root mirrors the target volume, like our Payload.
 *   - productbuild `--distribution` (not `--package … --identifier --version`, which synthesises a bare
 *     Distribution): title, hostArchitectures, minimum macOS and choices are then ours, and the product id/version
 *     come from its `<product>` element.
 *   - No `--sign`: productbuild can only sign with a keychain identity. With `--sign` the unsigned product archive is
 *     re-signed by our XAR signer (src/pkg/xar-resign.ts), exactly as productsign would sign it.
 * Not covered: byte reproducibility (Apple's tools stamp the build time into the xar TOC), `--compression latest`
 * payloads, component plists (there are no bundles to relocate).
 *
 * Writes go through src/io/fs.ts, the staged files' mode and time too (setModeAndTime).
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InterruptedError, UsageError } from '../errors.js';
import { ensureDir, setModeAndTime, writeFileAtomic, writeStreamAtomic } from '../io/fs.js';
import { productDistribution, type ProductArchiveInput } from '../pkg/flat-package.js';
import { payloadStats, planPayload } from '../pkg/payload.js';
import { resignXar } from '../pkg/xar.js';
import { runTool } from './run.js';

export const PKGBUILD = 'pkgbuild';
export const PRODUCTBUILD = 'productbuild';

export interface PkgbuildOptions {
  root: string;
  scripts: string;
  identifier: string;
  version: string;
  output: string;
}

/** pkgbuild's argv for the component package. */
export function pkgbuildArgs(o: PkgbuildOptions): string[] {
  return ['--root', o.root, '--identifier', o.identifier, '--version', o.version, '--install-location', '/', '--scripts', o.scripts, '--ownership', 'recommended', o.output];
}

/** productbuild's argv for the product archive, from our Distribution and the folder holding the component. */
export function productbuildArgs(o: { distribution: string; packagePath: string; output: string }): string[] {
  return ['--distribution', o.distribution, '--package-path', o.packagePath, o.output];
}

/** Why `--builder apple` cannot run on this platform, or undefined on macOS. */
export function appleBuilderProblem(platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'darwin') return undefined;
  return `--builder apple runs Apple's pkgbuild and productbuild, which exist only on macOS (this is ${platform}); use --builder ours (the default), which writes the same package here`;
}

interface Staged {
  root: string;
  scripts: string;
  distribution: string;
  componentDir: string;
}

/** Set a staged path's mode and mtime (pkgbuild records both). */
async function settle(p: string, mode: number, epoch: number): Promise<void> {
  await setModeAndTime(p, mode, epoch);
}

/** Every folder from `root` down to (not including) `file`, deepest first. */
function foldersAbove(root: string, file: string): string[] {
  const out: string[] = [];
  for (let d = path.dirname(file); d.length > root.length && d.startsWith(root); d = path.dirname(d)) out.push(d);
  return out;
}

async function stage(input: ProductArchiveInput, dir: string): Promise<Staged> {
  const s: Staged = { root: path.join(dir, 'root'), scripts: path.join(dir, 'scripts'), distribution: path.join(dir, 'Distribution'), componentDir: path.join(dir, 'component') };
  const folders = new Set<string>([s.root]);
  for (const f of input.files) {
    const target = path.join(s.root, f.path);
    const src = f.source!;
    if ('bytes' in src) await writeFileAtomic(target, src.bytes, { mode: f.mode });
    else await writeStreamAtomic(target, (out) => pipeline(createReadStream(src.file), out, { end: false }), { mode: f.mode });
    await settle(target, f.mode, input.epoch);
    for (const d of foldersAbove(s.root, target)) folders.add(d);
  }
  for (const name of ['preinstall', 'postinstall'] as const) {
    const target = path.join(s.scripts, name);
    await writeFileAtomic(target, input.scripts[name], { mode: 0o755 });
    await settle(target, 0o755, input.epoch);
  }
  // Deepest folders last, so writing into a folder does not bump its time again.
  for (const d of [...folders, s.scripts].sort((a, b) => b.length - a.length)) await settle(d, 0o755, input.epoch);
  const entries = await planPayload(input.files, { mtime: input.epoch, what: 'payload' });
  await writeFileAtomic(s.distribution, productDistribution(input, payloadStats(entries)));
  await ensureDir(s.componentDir);
  return s;
}

async function run(tool: string, args: string[], signal: AbortSignal | undefined): Promise<void> {
  try {
    await runTool(tool, args, { signal });
  } catch (e) {
    if (signal?.aborted) throw new InterruptedError('build interrupted; nothing was written to the output folder');
    throw e;
  }
}

/**
 * Build the product archive at `pkgFile` with pkgbuild + productbuild (see header). Same inputs and steps as
 * buildProductArchive; a UsageError on anything but macOS (`platform` is for tests that stand in for Apple's tools).
 * The release maps its spec to the input (src/release/package.ts, buildWithAppleTools).
 */
export async function buildProductWithAppleTools(input: ProductArchiveInput, pkgFile: string, opts: { platform?: NodeJS.Platform } = {}): Promise<void> {
  const problem = appleBuilderProblem(opts.platform);
  if (problem) throw new UsageError(problem);
  const dir = path.join(input.workDir, 'apple');
  input.onStep?.('stage files for pkgbuild');
  const s = await stage(input, dir);
  const comp = input.componentName;
  input.onStep?.('pkgbuild (component package)');
  await run(PKGBUILD, pkgbuildArgs({ root: s.root, scripts: s.scripts, identifier: input.packageIdentifier, version: input.version, output: path.join(s.componentDir, comp) }), input.signal);
  input.onStep?.('productbuild (product archive)');
  const unsigned = input.signer ? path.join(dir, 'product-unsigned.pkg') : pkgFile;
  await run(PRODUCTBUILD, productbuildArgs({ distribution: s.distribution, packagePath: s.componentDir, output: unsigned }), input.signal);
  if (input.signer) {
    input.onStep?.('sign product archive');
    const signer = input.signer;
    await writeStreamAtomic(pkgFile, async (out) => void (await resignXar(unsigned, out, signer)));
  }
}
