/**
 * The Kandji driver's pure parts: the audit script (run by dash with the receipt tool swapped for a stub; our marker
 * line after its `exit` never runs; shellcheck clean), the profile text we upload (the marker in PayloadDescription,
 * every other key and plist type kept), what plan compares (the keys Kandji may rewrite left out, types not), and
 * the uploaded file name read back from Kandji's file key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scriptWithoutMarker } from '../../../src/mdm/desired.js';
import { auditScript } from '../../../src/mdm/kandji/desired.js';
import { profileContent, profileRoot, withDescription } from '../../../src/mdm/kandji/mobileconfig.js';
import { uploadedName } from '../../../src/mdm/kandji/plan.js';
import { readMarker, writeMarker } from '../../../src/rollout/marker.js';
import { describeWithTools, tryRun } from '../../helpers/tools.js';

const MARKER = { kind: 'app', sha256: 'a'.repeat(64), version: '1.2.0' };

describeWithTools(['dash', 'shellcheck'], 'the custom app audit script', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-kandji-audit-'));
  /** The script as uploaded (marker last), pkgutil replaced by a stub that reports `installed` (or nothing). */
  function runWith(installed: string | undefined): number {
    const stub = path.join(dir, 'pkgutil');
    writeFileSync(stub, installed ? `#!/bin/sh\nprintf 'package-id: com.runlayer.aiwatch\\nversion: %s\\nvolume: /\\n' '${installed}'\n` : '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const script = writeMarker(auditScript('com.runlayer.aiwatch', '1.2.0'), MARKER).replace('/usr/sbin/pkgutil', stub);
    const file = path.join(dir, 'audit.sh');
    // A marker line that ran would be "command not found" on stderr.
    writeFileSync(file, script, { mode: 0o755 });
    const r = tryRun('dash', [file]);
    expect(r.stderr).toBe('');
    return r.status;
  }

  it('exits 0 when the receipt has this version, 1 when another or none is installed; the marker never runs', () => {
    expect(runWith('1.2.0')).toBe(0);
    expect(runWith('1.1.0')).toBe(1);
    expect(runWith(undefined)).toBe(1);
  });

  it('is shellcheck clean, and the marker reads back from it', () => {
    const text = auditScript("com.runlayer.aiwatch'x", '1.2.0');
    const file = path.join(dir, 'plain.sh');
    writeFileSync(file, `${text}\n`);
    expect(tryRun('shellcheck', ['-s', 'sh', file]).stdout).toBe('');
    const uploaded = writeMarker(text, MARKER);
    expect(readMarker(uploaded)).toEqual(MARKER);
    expect(scriptWithoutMarker(uploaded)).toBe(text);
  });
});

const PROFILE = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>PayloadContent</key><array><dict><key>Count</key><integer>3</integer><key>Ratio</key><real>0.5</real><key>On</key><true/><key>Blob</key><data>AAEC</data><key>When</key><date>2024-01-02T03:04:05Z</date><key>PayloadDisplayName</key><string>inner</string></dict></array>
<key>PayloadDisplayName</key><string>PPPC</string>
<key>PayloadIdentifier</key><string>com.runlayer.aiwatch.pppc</string>
<key>PayloadUUID</key><string>11111111-2222-5333-8444-555555555555</string>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadVersion</key><integer>1</integer>
</dict></plist>
`;

describe('custom profile text', () => {
  it('the marker goes into PayloadDescription; every other key and type is kept', () => {
    const root = profileRoot(PROFILE, 'p');
    const text = withDescription(root, 'aiwatch-deploy: profile-pppc sha256=' + 'b'.repeat(64) + ' version=1.2.0', 'p');
    expect(text).toMatch(/<key>PayloadDescription<\/key>\s*<string>aiwatch-deploy: profile-pppc sha256=b{64} version=1\.2\.0<\/string>/);
    expect(profileContent(profileRoot(text, 'p'))).toBe(profileContent(root));
    for (const bit of ['<integer>3</integer>', '<real>0.5</real>', '<true/>', '<data>AAEC</data>', '<date>2024-01-02T03:04:05Z</date>']) expect(text).toContain(bit);
  });

  it('what plan compares leaves out the top-level name, identifier, UUID and description — not an inner name, not a type', () => {
    const base = profileContent(profileRoot(PROFILE, 'p'));
    const renamed = PROFILE.replace('<string>PPPC</string>', '<string>aiwatch — PPPC</string>').replace('com.runlayer.aiwatch.pppc', 'com.kandji.profile.custom.1');
    expect(profileContent(profileRoot(renamed, 'p'))).toBe(base);
    expect(profileContent(profileRoot(PROFILE.replace('<string>inner</string>', '<string>other</string>'), 'p'))).not.toBe(base);
    expect(profileContent(profileRoot(PROFILE.replace('<integer>3</integer>', '<string>3</string>'), 'p'))).not.toBe(base);
  });

  it('a profile that is not a plist dictionary is refused by name, without its text', () => {
    expect(() => profileRoot('<plist version="1.0"><array/></plist>', 'aiwatch — PPPC')).toThrow(/^aiwatch — PPPC: the property list is not a dictionary$/);
    expect(() => profileRoot('rl_org_secret not xml', 'tenant')).toThrow(/^tenant: not a readable XML property list/);
    expect(() => profileRoot('rl_org_secret not xml', 'tenant')).not.toThrow(/rl_org_secret/);
  });
});

describe('the uploaded file name, read back from the file key', () => {
  it('drops the _<8 hex> Kandji adds before the extension', () => {
    expect(uploadedName('companies/companies/d934/library/custom_apps/aiwatch-1.2.0-macos-arm64_ae245110.pkg')).toBe('aiwatch-1.2.0-macos-arm64.pkg');
    expect(uploadedName('companies/x/CompanyPortal_5.2310.5-Installer_0f04055b.pkg')).toBe('CompanyPortal_5.2310.5-Installer.pkg');
    expect(uploadedName('odd-name.pkg')).toBe('odd-name.pkg');
  });
});
