/**
 * Release inputs of `build`: version and architecture, validated up front with one message per problem.
 */
import { UsageError } from '../errors.js';

export type ReleaseArch = 'arm64' | 'x86_64' | 'universal';
export const RELEASE_ARCHES: readonly ReleaseArch[] = ['arm64', 'x86_64', 'universal'];

/** A version as pkgbuild/Installer accept it and as it appears in file names: 1.4.0, 1.4.0-beta.2, 2.0.1+build.7. */
const VERSION = /^[0-9]+(\.[0-9]+){0,3}([-+][0-9A-Za-z]+([.-][0-9A-Za-z]+)*)?$/;

export function versionProblem(version: string): string | undefined {
  if (version.length === 0) return '--version is empty; expected a version such as 1.4.0';
  if (version.length > 64) return `--version is ${version.length} characters long; at most 64`;
  if (!VERSION.test(version)) {
    return `--version ${JSON.stringify(version)} is not a version: expected digits and dots (1.4.0), optionally -prerelease or +build, without spaces or slashes`;
  }
  return undefined;
}

export function checkReleaseInput(i: { version: string; arch: string }): { version: string; arch: ReleaseArch } {
  const problems: string[] = [];
  const vp = versionProblem(i.version);
  if (vp) problems.push(vp);
  if (!RELEASE_ARCHES.includes(i.arch as ReleaseArch)) problems.push(`--arch ${JSON.stringify(i.arch)} is not one of ${RELEASE_ARCHES.join(', ')}`);
  if (problems.length) throw new UsageError(problems);
  return { version: i.version, arch: i.arch as ReleaseArch };
}

/** `aiwatch-<version>-macos-<arch>` — the stem of the pkg and the zip. */
export function releaseStem(version: string, arch: ReleaseArch): string {
  return `aiwatch-${version}-macos-${arch}`;
}
