/**
 * planRelease: the pure half of the release — names, roles, modes, which documents are signed and the manifest
 * fields known before any byte of the binary is read; a bad version or arch is a UsageError before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { UsageError } from '../../src/errors.js';
import { DOCTOR_SCRIPT_NAME, INTUNE_ATTRIBUTE_SCRIPT_NAME, JAMF_EA_SCRIPT_NAME, renderDoctorScripts } from '../../src/doctor/doctor-macos.js';
import { CLEANUP_SCRIPT_NAME, UNINSTALL_SCRIPT_NAME } from '../../src/release/macos-scripts.js';
import { planRelease } from '../../src/release/plan.js';

const spec = loadDefaultSpec();
const input = { version: '1.2.3', arch: 'universal' as const, epoch: 1700000000, builderVersion: '0.1.0', signPkg: false, signProfiles: true };

describe('planRelease', () => {
  it('names, host architectures and the documents with their roles, modes and signing, from the spec alone', () => {
    const plan = planRelease(input, spec);
    expect([plan.pkgName, plan.zipName, plan.hostArchitectures, plan.generator]).toEqual(['aiwatch-1.2.3-macos-universal.pkg', 'aiwatch-1.2.3-macos-universal.zip', ['arm64', 'x86_64'], 'aiwatch-deploy 0.1.0']);
    const docs = plan.documents.map((d) => [d.role, d.mode.toString(8), d.sign]);
    expect(docs).toEqual([
      ['pppc-profile', '644', true],
      ['login-items-profile', '644', true],
      ['jamf-schema', '644', false],
      ['cleanup-script', '755', false],
      ['uninstall-script', '755', false],
      ['doctor-script', '755', false],
      ['jamf-extension-attribute', '755', false],
      ['intune-attribute', '755', false],
    ]);
    expect(plan.documents.slice(3, 5).map((d) => d.name)).toEqual([CLEANUP_SCRIPT_NAME, UNINSTALL_SCRIPT_NAME]);
    expect(plan.documents.slice(-3).map((d) => d.name)).toEqual([DOCTOR_SCRIPT_NAME, JAMF_EA_SCRIPT_NAME, INTUNE_ATTRIBUTE_SCRIPT_NAME]);
    expect(Buffer.from(plan.documents[5]!.bytes).toString('utf8')).toBe(renderDoctorScripts(spec).doctor);
    expect(Buffer.from(plan.documents[3]!.bytes).toString('utf8')).toBe(plan.scripts.cleanup);
    expect(plan.manifest).toMatchObject({ version: '1.2.3', arch: 'universal', sourceDateEpoch: 1700000000, identifiers: { packageIdentifier: spec.packageIdentifier, teamId: spec.teamId } });
  });

  it('unsigned profiles when not asked for; the same input gives the same plan', () => {
    const a = planRelease({ ...input, arch: 'arm64', signProfiles: false }, spec);
    expect(a.documents.every((d) => !d.sign)).toBe(true);
    expect(a.hostArchitectures).toEqual(['arm64']);
    expect(planRelease({ ...input, arch: 'arm64', signProfiles: false }, spec)).toEqual(a);
  });

  it('a bad version and a bad arch are one UsageError naming both', () => {
    const e = (() => {
      try {
        planRelease({ ...input, version: '1 2', arch: 'ppc' as never }, spec);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toMatch(/--arch "ppc" is not one of/);
    expect((e as Error).message).toMatch(/1 2/);
  });
});
