/**
 * The generated Intune scripts: golden files, the text rules (ASCII, CRLF, no BOM), a PowerShell parse of every
 * file with tree-sitter-powershell (and proof the parse check rejects a broken script), and the behaviour that
 * must follow from the inputs (hooks flags, provisioning only with an EnrollmentKey, env names from the spec).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSpec } from '../../src/config/spec.js';
import { UsageError } from '../../src/errors.js';
import { scriptTextProblems } from '../../src/intune/intune-checks.js';
import { buildIntuneScripts, cliArguments, renderIntuneScripts, renderPayloadScripts, type IntuneFile } from '../../src/intune/intune.js';
import { Secret } from '../../src/secret.js';
import { ENROLL_KEY, GOLDEN, HOST, ORG_KEY, spec, tenant, VARIANTS } from './helpers.js';
import { assignedVariables, commandCalls, psSyntaxProblems } from './ps-parse.js';

const ALL_NAMES = [
  'Detect-Aiwatch.ps1',
  'Install-AiwatchDetect.ps1',
  'Install-AiwatchProvisioning.ps1',
  'Invoke-AiwatchProvisioning.ps1',
  'Invoke-AiwatchScan.ps1',
  'Remediate-Aiwatch.ps1',
  'Uninstall-Aiwatch.ps1',
];

describe('intune scripts: golden files', () => {
  for (const [variant, input] of Object.entries(VARIANTS)) {
    it(`${variant}: every script matches test/golden/intune/${variant}/`, async () => {
      const files = renderIntuneScripts(input());
      for (const [name, text] of Object.entries(files)) {
        await expect(text).toMatchFileSnapshot(path.join(GOLDEN, variant, name));
      }
    });
  }

  it('the detect variant has no provisioning scripts; the full one has all seven', () => {
    expect(Object.keys(renderIntuneScripts(VARIANTS.detect!())).sort()).toEqual(ALL_NAMES.filter((n) => !n.includes('Provisioning')));
    expect(Object.keys(renderIntuneScripts(VARIANTS.full!())).sort()).toEqual(ALL_NAMES);
  });

  it('rendering is deterministic', () => {
    expect(renderIntuneScripts(VARIANTS.full!())).toEqual(renderIntuneScripts(VARIANTS.full!()));
  });
});

describe('intune scripts: text rules', () => {
  for (const [variant, input] of Object.entries(VARIANTS)) {
    it(`${variant}: ASCII only, CRLF only, no BOM, under 200 KB`, () => {
      for (const [name, text] of Object.entries(renderIntuneScripts(input()))) {
        const bytes = Buffer.from(text, 'utf8');
        expect(bytes.every((b) => b < 0x80), name).toBe(true);
        expect(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), name).toBe(false);
        expect(text.split('\r\n').every((line) => !line.includes('\n') && !line.includes('\r')), name).toBe(true);
        expect(text.endsWith('\r\n'), name).toBe(true);
        expect(bytes.length, name).toBeLessThan(200 * 1024);
      }
    });
  }

  it('the text check itself catches each violation', () => {
    expect(scriptTextProblems('a.ps1', 'x = 1\r\n')).toEqual([]);
    expect(scriptTextProblems('a.ps1', 'x = 1\n')).toEqual(['a.ps1: line ends must all be CRLF']);
    expect(scriptTextProblems('a.ps1', 'a\r\n# caf\u00e9\r\n')[0]).toMatch(/^a\.ps1: line 2 holds U\+00E9/);
    expect(scriptTextProblems('a.ps1', '\uFEFFx\r\n').join('\n')).toMatch(/byte-order mark/);
    expect(scriptTextProblems('a.ps1', `${'#'.repeat(210 * 1024)}\r\n`).join('\n')).toMatch(/over Intune's 204800-byte script limit/);
  });
});

describe('intune scripts: PowerShell syntax (tree-sitter-powershell)', () => {
  for (const [variant, input] of Object.entries(VARIANTS)) {
    it(`${variant}: every script parses with no ERROR or MISSING node`, async () => {
      for (const [name, text] of Object.entries(renderIntuneScripts(input()))) {
        expect(await psSyntaxProblems(text), name).toEqual([]);
      }
    });
  }

  it('the check rejects broken PowerShell (so it can fail)', async () => {
    const good = renderIntuneScripts(VARIANTS.detect!())['Invoke-AiwatchScan.ps1']!;
    expect(await psSyntaxProblems(good)).toEqual([]);
    const broken = good.replace('function Invoke-AiwatchMain {', 'function Invoke-AiwatchMain {{');
    expect(await psSyntaxProblems(broken)).not.toEqual([]);
    expect(await psSyntaxProblems(good.replace("$AiwatchOrgApiKey = '", '$AiwatchOrgApiKey = "'))).not.toEqual([]);
    expect(await psSyntaxProblems('if ($a -eq) {\r\n}\r\n')).not.toEqual([]);
    expect(await psSyntaxProblems('try {\r\n    1\r\n}\r\n')).toEqual(['1:1 try without catch or finally']);
  });

  it('no script assigns to or declares an automatic variable ($Host, $input, $args, ...)', async () => {
    const banned = ['$host', '$input', '$args', '$pid', '$psitem', '$_', '$error', '$matches', '$this', '$home', '$profile', '$true', '$false'];
    for (const [name, text] of Object.entries(renderIntuneScripts(VARIANTS.full!()))) {
      const assigned = (await assignedVariables(text)).map((v) => v.toLowerCase());
      expect(assigned.filter((v) => banned.includes(v)), name).toEqual([]);
    }
  });

  it('only Write-AiwatchSummary writes to the output stream, and it keeps within 2048 characters', async () => {
    const writers = /^(Write-Output|Write-Host|Write-Error|Write-Warning|Write-Information|Out-Host|echo)$/i;
    for (const [name, text] of Object.entries(renderIntuneScripts(VARIANTS.full!()))) {
      const calls = (await commandCalls(text)).filter((c) => writers.test(c.command));
      expect(calls, name).toEqual([{ command: 'Write-Output', inFunction: 'Write-AiwatchSummary' }]);
      expect(text).toContain('$max = 2000');
    }
  });

  it('scripts return and exit only the documented codes', () => {
    for (const [name, text] of Object.entries(renderIntuneScripts(VARIANTS.full!()))) {
      const returned = [...text.matchAll(/\breturn (\d+)\b/g)].map((m) => Number(m[1]));
      expect(returned.every((c) => c >= 0 && c <= 3), name).toBe(true);
      const exits = [...text.matchAll(/^\s*exit (.+?)\r$/gm)].map((m) => m[1]);
      expect(new Set(exits), name).toEqual(new Set(['$LASTEXITCODE', '$exitCode']));
      const detectCodes = [...text.matchAll(/\$exitCode = (\d+)/g)].map((m) => Number(m[1]));
      if (name === 'Detect-Aiwatch.ps1') expect(new Set(detectCodes)).toEqual(new Set([0, 1]));
    }
  });

  it('every script relaunches itself in 64-bit PowerShell when started 32-bit', () => {
    for (const [name, text] of Object.entries(renderIntuneScripts(VARIANTS.detect!()))) {
      expect(text, name).toContain("if ($env:PROCESSOR_ARCHITEW6432 -and -not [Environment]::Is64BitProcess) {\r\n    $nativePowerShell = Join-Path $env:WINDIR 'sysnative\\WindowsPowerShell\\v1.0\\powershell.exe'");
    }
  });
});

describe('intune scripts: what the inputs decide', () => {
  it('hooks: --no-enforcement only when Enforcement is false, --event-hooks only when Sessions is true', () => {
    const args = (e: boolean, s: boolean) => cliArguments(tenant({ Enforcement: e, Sessions: s })).hooks;
    expect(args(true, true)).toEqual(['setup', 'hooks', '--install', '--yes', '--event-hooks']);
    expect(args(false, true)).toEqual(['setup', 'hooks', '--install', '--yes', '--no-enforcement', '--event-hooks']);
    expect(args(true, false)).toEqual(['setup', 'hooks', '--install', '--yes']);
    expect(args(false, false)).toEqual(['setup', 'hooks', '--install', '--yes', '--no-enforcement']);
    const text = renderIntuneScripts(VARIANTS.full!())['Invoke-AiwatchProvisioning.ps1']!;
    expect(text).toContain("$AiwatchHooksArguments = @('setup', 'hooks', '--install', '--yes', '--no-enforcement', '--event-hooks')\r\n");
    expect(text).toContain("$AiwatchLogFile = Join-Path $AiwatchLogDir 'auto_provisioning.log'");
  });

  it('host and keys reach runlayer only through the environment, under the names in the spec', () => {
    const files = renderIntuneScripts(VARIANTS.full!());
    const scan = files['Invoke-AiwatchScan.ps1']!;
    expect(scan).toContain("[Environment]::SetEnvironmentVariable('RUNLAYER_API_KEY', $AiwatchOrgApiKey, 'Process')");
    expect(scan).toContain("[Environment]::SetEnvironmentVariable('RUNLAYER_HOST', $AiwatchTenantHost, 'Process')");
    // The key appears once, in its assignment; the variable is used only to set the environment.
    expect(scan.split(ORG_KEY).length - 1).toBe(1);
    expect(scan).toContain(`$AiwatchOrgApiKey = '${ORG_KEY}'\r\n`);
    expect(scan.match(/\$AiwatchOrgApiKey\b/g)).toHaveLength(2);
    const prov = files['Invoke-AiwatchProvisioning.ps1']!;
    expect(prov).toContain("[Environment]::SetEnvironmentVariable('RUNLAYER_ENROLLMENT_KEY', $AiwatchEnrollmentKey, 'Process')");
    expect(prov.match(/\$AiwatchEnrollmentKey\b/g)).toHaveLength(2);
    // Wrappers carry the keys only inside the base64 payload, never in clear.
    for (const name of ['Install-AiwatchDetect.ps1', 'Remediate-Aiwatch.ps1', 'Install-AiwatchProvisioning.ps1', 'Detect-Aiwatch.ps1', 'Uninstall-Aiwatch.ps1']) {
      expect(files[name]!.includes(ORG_KEY) || files[name]!.includes(ENROLL_KEY), name).toBe(false);
    }
  });

  it('a --spec with other variable names and CLI package changes the scripts accordingly', () => {
    const other = buildSpec({
      data: { windows: { cliPackage: 'runlayer-nightly', secretsVia: 'env', env: { host: 'RL_HOST', orgApiKey: 'RL_KEY', enrollmentKey: 'RL_ENROLL', caBundle: 'RL_CA' }, logDir: 'C:\\Logs\\Runlayer' } },
      subject: 'other.json',
    });
    const files = renderIntuneScripts({ spec: other, tenant: tenant() });
    const scan = files['Invoke-AiwatchScan.ps1']!;
    expect(scan).toContain("[Environment]::SetEnvironmentVariable('RL_KEY', $AiwatchOrgApiKey, 'Process')");
    expect(scan).toContain("$AiwatchCliExe = Join-Path $AiwatchBinDir 'runlayer-nightly.exe'");
    expect(scan).toContain("[Environment]::ExpandEnvironmentVariables('C:\\Logs\\Runlayer')");
    expect(scan).not.toContain('RUNLAYER_API_KEY');
  });

  it('refuses a spec whose Windows values cannot be used: the schema first, the renderer for what it leaves', () => {
    const windows = { cliPackage: 'runlayer==1.2', secretsVia: 'env', env: { host: 'RUNLAYER HOST', orgApiKey: 'K', enrollmentKey: 'k', caBundle: 'CA' }, logDir: 'C:\\Logs' };
    expect(() => buildSpec({ data: { windows }, subject: 'bad.json' })).toThrow(/bad\.json: \/windows\/env\/host: does not match/);
    // A spec assembled in code skips the schema; the renderer still refuses, naming every problem.
    const bad = { ...spec, windows: { ...windows, env: { ...windows.env, orgApiKey: 'RUNLAYER_HOST', enrollmentKey: 'runlayer_host' }, logDir: 'C:\\Journaux\\R\u00e9', secretsVia: 'env' as const } };
    let err: unknown;
    try {
      renderIntuneScripts({ spec: bad, tenant: tenant(), specSubject: 'bad.json' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const problems = (err as UsageError).problems;
    expect(problems).toContain('bad.json: /windows/env/host must be an environment variable name like RUNLAYER_HOST, got "RUNLAYER HOST"');
    expect(problems.join('\n')).toMatch(/each value needs its own variable name \(Windows ignores case\)/);
    expect(problems.join('\n')).toMatch(/cliPackage must be a bare PyPI package name.*"runlayer==1.2"/);
    expect(problems.join('\n')).toMatch(/logDir must be printable ASCII/);
    expect(problems).toHaveLength(4);
  });

  it('the task intervals come from the macOS units (scan 900 s -> 15 min, enroll 3600 s -> 60 min)', () => {
    const files = renderIntuneScripts(VARIANTS.full!());
    expect(files['Install-AiwatchDetect.ps1']).toContain('$AiwatchScanIntervalMinutes = 15\r\n');
    expect(files['Install-AiwatchProvisioning.ps1']).toContain('$AiwatchProvisioningIntervalMinutes = 60\r\n');
  });

  it('wrappers embed the payload scripts byte for byte and pin their SHA-256 in Detect', () => {
    const input = VARIANTS.full!();
    const files = renderIntuneScripts(input);
    const pick = (text: string, variable: string): Buffer => {
      const m = new RegExp(`\\${variable} = '([A-Za-z0-9+/=\\r\\n]+)'`).exec(text);
      return Buffer.from(m![1]!.replace(/\s/g, ''), 'base64');
    };
    const scan = Buffer.from(files['Invoke-AiwatchScan.ps1']!, 'ascii');
    expect(pick(files['Install-AiwatchDetect.ps1']!, '$AiwatchScanScriptBase64').equals(scan)).toBe(true);
    expect(pick(files['Remediate-Aiwatch.ps1']!, '$AiwatchScanScriptBase64').equals(scan)).toBe(true);
    expect(pick(files['Install-AiwatchProvisioning.ps1']!, '$AiwatchProvisioningScriptBase64').equals(Buffer.from(files['Invoke-AiwatchProvisioning.ps1']!, 'ascii'))).toBe(true);
    expect(pick(files['Install-AiwatchDetect.ps1']!, '$AiwatchCaBundleBase64').toString('ascii')).toBe(input.options!.caBundlePem);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').toUpperCase();
    expect(files['Detect-Aiwatch.ps1']).toContain(`$AiwatchExpectedScanSha256 = '${sha(scan)}'`);
    expect(files['Detect-Aiwatch.ps1']).toContain(`$AiwatchExpectedCaSha256 = '${sha(Buffer.from(input.options!.caBundlePem!, 'ascii'))}'`);
    expect(renderIntuneScripts(VARIANTS.detect!())['Detect-Aiwatch.ps1']).toContain("$AiwatchExpectedCaSha256 = ''\r\n");
  });

  it('with a signer, payloads are signed before the wrappers embed them, wrappers after', async () => {
    const seen: string[][] = [];
    const fakeSigner = async (files: IntuneFile[]) => {
      seen.push(files.map((f) => f.name));
      return files.map((f) => ({ ...f, text: `${f.text}# SIG # Begin signature block\r\n# ${f.name}\r\n# SIG # End signature block\r\n` }));
    };
    const out = await buildIntuneScripts(VARIANTS.full!(), fakeSigner);
    expect(seen).toEqual([
      ['Invoke-AiwatchScan.ps1', 'Invoke-AiwatchProvisioning.ps1'],
      ['Install-AiwatchDetect.ps1', 'Detect-Aiwatch.ps1', 'Remediate-Aiwatch.ps1', 'Uninstall-Aiwatch.ps1', 'Install-AiwatchProvisioning.ps1'],
    ]);
    const install = out.find((f) => f.name === 'Install-AiwatchDetect.ps1')!.text;
    const embedded = Buffer.from(/\$AiwatchScanScriptBase64 = '([^']+)'/.exec(install)![1]!.replace(/\s/g, ''), 'base64').toString('ascii');
    expect(embedded).toContain('# SIG # Begin signature block\r\n# Invoke-AiwatchScan.ps1');
    expect(out.filter((f) => f.holdsSecret).map((f) => f.name).sort()).toEqual(ALL_NAMES.filter((n) => n !== 'Detect-Aiwatch.ps1' && n !== 'Uninstall-Aiwatch.ps1'));
  });

  it('needs an OrgApiKey; the EnrollmentKey is optional', () => {
    const t = { ...tenant(), OrgApiKey: undefined };
    expect(() => renderPayloadScripts({ spec, tenant: t })).toThrow(/OrgApiKey is required/);
    expect(tenant({ EnrollmentKey: new Secret(ENROLL_KEY, 'EnrollmentKey') }).Host).toBe(HOST);
  });
});
