/**
 * The release's macOS package: the deployment spec mapped to what the product-archive writer (src/pkg/flat-package.ts)
 * and the Apple-tools builder (src/tools/apple-pkg.ts) take — the install files (the agent binary 0755 at
 * spec.installPath, each launchd unit's plist 0644, all root:wheel), the identifiers, title and minimum macOS. The
 * format layer knows no spec and no launchd; this is where the product meets it.
 */
import type { Writable } from 'node:stream';
import type { DeploymentSpec } from '../config/spec-types.js';
import { renderLaunchdPlist } from '../launchd/plist.js';
import { buildProductArchive, layoutProductArchive, type FlatPackageResult, type ProductArchiveInput, type ProductArchiveLayout } from '../pkg/flat-package.js';
import type { InstallFile } from '../pkg/payload.js';
import { buildProductWithAppleTools } from '../tools/apple-pkg.js';

/**
 * The release's package input: the product-archive input (src/pkg/flat-package.ts) with the spec and the agent
 * binary in place of what they determine (identifiers, title, minimum macOS, install files).
 */
export type FlatPackageInput = Omit<ProductArchiveInput, 'packageIdentifier' | 'componentName' | 'title' | 'minimumMacOS' | 'files'> & {
  spec: DeploymentSpec;
  /** The agent binary to install at spec.installPath. */
  binaryFile: string;
  /** Sees the binary's bytes as the Payload reads them (the release check's one pass, src/pkg/payload.ts `tap`). */
  binaryTap?: (chunk: Uint8Array) => void;
};

/** The component directory name inside the product archive: the last label of the identifier, e.g. `aiwatch.pkg`. */
export function componentName(spec: Pick<DeploymentSpec, 'identifier'>): string {
  return `${spec.identifier.split('.').pop()}.pkg`;
}

/** What the package installs: the binary (0755) and each launchd plist (0644), all root:wheel. */
export function installFiles(spec: DeploymentSpec, binaryFile: string, binaryTap?: (chunk: Uint8Array) => void): InstallFile[] {
  return [
    { path: spec.installPath, mode: 0o755, source: binaryTap ? { file: binaryFile, tap: binaryTap } : { file: binaryFile } },
    ...spec.units.map((u) => ({ path: u.plistPath, mode: 0o644, source: { bytes: Buffer.from(renderLaunchdPlist(u), 'utf8') } })),
  ];
}

/** The spec-free input of the product-archive writers. */
export function productArchiveInput(input: FlatPackageInput): ProductArchiveInput {
  const { spec, binaryFile: _binaryFile, binaryTap, ...rest } = input;
  return {
    ...rest,
    packageIdentifier: spec.packageIdentifier,
    componentName: componentName(spec),
    title: spec.productTitle,
    minimumMacOS: spec.minimumMacOS,
    scriptsTimeout: spec.scriptsTimeout,
    files: installFiles(spec, input.binaryFile, binaryTap),
  };
}

/** Build the release's product archive into `out` with our writer. */
export function buildFlatPackage(input: FlatPackageInput, out: Writable): Promise<FlatPackageResult> {
  return buildProductArchive(productArchiveInput(input), out);
}

/** Lay out the release's product archive with our writer, its bytes not written yet (src/pkg/flat-package.ts). */
export function layoutFlatPackage(input: FlatPackageInput): Promise<ProductArchiveLayout> {
  return layoutProductArchive(productArchiveInput(input));
}

/** Build the release's product archive at `pkgFile` with Apple's pkgbuild + productbuild (`--builder apple`). */
export function buildWithAppleTools(input: FlatPackageInput, pkgFile: string, opts: { platform?: NodeJS.Platform } = {}): Promise<void> {
  return buildProductWithAppleTools(productArchiveInput(input), pkgFile, opts);
}
