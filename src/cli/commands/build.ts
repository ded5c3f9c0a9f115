/**
 * `aiwatch-deploy build`: adapter over src/release/release.ts. Parses options, resolves the demo fixtures, reports
 * steps on stderr (not with --json) and prints the manifest.
 */
import path from 'node:path';
import { buildEpoch } from '../../config/clock.js';
import { BUILDER_VERSION } from '../../config/package-version.js';
import { FIXTURES_DIR } from '../../config/paths.js';
import { RELEASE_ARCHES, type ReleaseArch } from '../../config/release-input.js';
import { loadSpec } from '../../config/spec.js';
import { UsageError } from '../../errors.js';
import { buildRelease } from '../../release/release.js';
import { buildWithAppleTools } from '../../release/package.js';
import { appleBuilderProblem } from '../../tools/apple-pkg.js';
import { prepareOutput } from '../artifacts.js';
import { defineCommand } from '../command.js';
import type { OptionDefs } from '../options.js';
import { RELEASE_TRUST_GROUPS, RELEASE_TRUST_OPTIONS, releaseTrustFromArgs } from '../release-trust.js';
import { createByteProgress } from '../progress.js';

export const DEMO_VERSION = '1.0.0';

function demoBinaries(arch: ReleaseArch): { binary: string; binaryX86_64?: string } {
  const f = (a: string): string => path.join(FIXTURES_DIR, 'demo', `aiwatch-${a}`);
  if (arch === 'universal') return { binary: f('arm64'), binaryX86_64: f('x86_64') };
  return { binary: f(arch) };
}

function trustLine(p: { signed: boolean; notarized: boolean; stapled: boolean }): string {
  return `${p.signed ? 'signed' : 'NOT signed'}, ${p.notarized ? 'notarized' : 'NOT notarized'}, ${p.stapled ? 'stapled' : 'not stapled'}`;
}

const BUILD_OPTIONS = {
  binary: { type: 'string', describe: 'The compiled aiwatch binary (Mach-O, signed with the spec identifier and team)' },
  'binary-x86_64': { type: 'string', describe: 'With --arch universal: the x86_64 binary to merge with --binary (arm64)' },
  version: { type: 'string', describe: 'Agent version, e.g. 1.4.0' },
  arch: { type: 'string', choices: RELEASE_ARCHES, default: 'arm64', describe: 'Target architecture' },
  out: { type: 'string', default: 'out', describe: 'Folder that receives the zip' },
  demo: { type: 'boolean', default: false, describe: `Use the bundled demo binary (version ${DEMO_VERSION} unless --version)` },
  spec: { type: 'string', describe: 'Deployment spec JSON overriding identifier, teamId, installPath, …' },
  'development-build': {
    type: 'boolean',
    default: false,
    describe: 'Accept a binary not signed by an Apple Developer ID (unsigned, ad hoc, a test certificate): flagged in the manifest, README.txt and warnings; implied by --demo',
  },
  builder: { type: 'string', choices: ['ours', 'apple'], default: 'ours', describe: 'Who writes the .pkg: ours (any OS, reproducible) or apple (pkgbuild + productbuild; macOS only)' },
  ...RELEASE_TRUST_OPTIONS,
} as const satisfies OptionDefs;

export const buildCommand = defineCommand({
  command: 'build',
  describe: 'Build the release zip: the .pkg, profiles, Jamf schema, scripts, manifest and checksums',
  examples: [
    ['$0 build --demo --out out/', 'build from the bundled demo binary (not Apple-signed: a development build, said loudly)'],
    ['$0 build --binary aiwatch --version 1.4.0 --arch arm64 --out dist/', 'aiwatch-1.4.0-macos-arm64.zip'],
    ['$0 build --binary aiwatch-arm64 --binary-x86_64 aiwatch-x86_64 --arch universal --version 1.4.0', 'merge into a universal binary'],
    ['SOURCE_DATE_EPOCH=1700000000 $0 build --binary aiwatch --version 1.4.0 --json', 'reproducible build, manifest on stdout'],
    ['$0 build --binary aiwatch --version 1.4.0 --sign --p12 installer.p12 --p12-password-file pw --notarize --staple', 'signed, notarized, stapled (docs/ci-release.md)'],
  ],
  options: BUILD_OPTIONS,
  groups: RELEASE_TRUST_GROUPS,
  run: async (args, ctx) => {
    const { arch, demo } = args;
    const problems: string[] = [];
    if (demo && args.binary) problems.push('--demo and --binary are exclusive: the demo uses the bundled binary');
    if (!demo && !args.binary) problems.push('--binary is required (or --demo for the bundled demo binary)');
    if (!demo && !args.version) problems.push('--version is required, e.g. --version 1.4.0');
    if (args['binary-x86_64'] && arch !== 'universal') problems.push('--binary-x86_64 goes with --arch universal');
    const apple = args.builder === 'apple';
    if (apple && appleBuilderProblem()) problems.push(appleBuilderProblem()!);
    if (problems.length) throw new UsageError(problems);
    const [binary, x86] = [args.binary, args['binary-x86_64']];
    // Without --binary this is the demo (the check above): its bundled binaries.
    const bins = binary === undefined ? demoBinaries(arch) : { binary: path.resolve(ctx.cwd, binary), binaryX86_64: x86 && path.resolve(ctx.cwd, x86) };
    const spec = await loadSpec(args.spec && path.resolve(ctx.cwd, args.spec));
    const bar = createByteProgress(ctx, 'compress payload');
    const log = (s: string): void => {
      bar.stop();
      if (!ctx.json) ctx.stderr(`${s}…\n`);
    };
    const trust = await releaseTrustFromArgs(args, ctx, spec);
    await prepareOutput(ctx, path.resolve(ctx.cwd, args.out), 'folder');
    const r = await buildRelease({
      spec,
      version: args.version ?? DEMO_VERSION,
      arch,
      ...bins,
      outDir: path.resolve(ctx.cwd, args.out),
      epoch: buildEpoch(ctx.env),
      builderVersion: BUILDER_VERSION,
      developmentBuild: demo || args['development-build'],
      ...trust,
      packageBuilder: apple ? buildWithAppleTools : undefined,
      onStep: log,
      onProgress: bar.update,
      signal: ctx.signal,
    }).finally(() => bar.stop());
    for (const w of r.manifest.warnings) ctx.warn(w);
    return {
      text: [`wrote ${path.relative(ctx.cwd, r.zip) || r.zip}${r.manifest.developmentBuild ? ' (DEVELOPMENT BUILD)' : ''}`, `  pkg: ${trustLine(r.manifest.pkg)}`, ...r.manifest.files.map((f) => `  ${f.name}  ${f.size} bytes  sha256 ${f.sha256}`)].join('\n'),
      json: { ok: true, zip: r.zip, manifest: r.manifest },
    };
  },
});
