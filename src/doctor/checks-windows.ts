/**
 * The checks of the Windows doctor (`Test-Aiwatch.ps1`) and of the health pair of Intune Remediations
 * (`Detect-AiwatchHealth.ps1`, `Remediate-AiwatchHealth.ps1`), as data: id, title, the exit code a failure stands
 * for (the 0-3 table of the Windows scripts) and the fix from the troubleshooting guide. The scripts render this
 * table; the PowerShell functions behind each id decide ok / warn / fail and write one line of evidence.
 *
 * A run exits with the highest code of its failing checks (3 installation > 2 network > 1 general), the rule of
 * the macOS doctor too, so one device's code means the same on both. Checks are listed by cause — installation
 * first, then configuration and user, network, the key's verdict — which is the order of the report. Checks with
 * `failExit: 0` only ever warn.
 * Texts are ASCII (the scripts must be) and name no secret.
 */

/** The exit codes of the Windows scripts (and of runlayer): 0 ok, 1 general failure, 2 network, 3 installation. */
export type DoctorExit = 0 | 1 | 2 | 3;

export const DOCTOR_EXIT_MEANING: Readonly<Record<DoctorExit, string>> = {
  0: 'healthy',
  1: 'general failure (no user signed in, missing or wrong configuration)',
  2: 'network failure',
  3: 'installation failure',
};

export interface DoctorCheck {
  /** Stable name, in reports and `-Json` (`id`). */
  id: string;
  /** What is checked, in a few words. */
  title: string;
  /** The exit code a `fail` of this check gives the run (0: the check only warns). */
  failExit: DoctorExit;
  /** What to do when the check does not pass. */
  fix: string;
}

/** Every check, in the order they run and decide the exit code. `provisioning-task` runs only with an EnrollmentKey. */
export const WINDOWS_CHECKS: readonly DoctorCheck[] = [
  {
    id: 'cli-binary',
    title: 'runlayer CLI and uv installed, Authenticode signature',
    failExit: 3,
    fix: 'Run Install-AiwatchDetect.ps1 (or the install Remediation, Remediate-Aiwatch.ps1) again as SYSTEM; a signature that is not Valid means the file was changed after signing: reinstall.',
  },
  {
    id: 'scan-task',
    title: 'Task Scheduler running; scheduled task \\Runlayer\\Scan registered, enabled, for the signed-in user',
    failExit: 3,
    fix: 'Run Install-AiwatchDetect.ps1 again while the user is signed in (it registers the task for that user); Remediate-AiwatchHealth.ps1 enables a disabled task; a stopped Task Scheduler service: Start-Service Schedule.',
  },
  {
    id: 'provisioning-task',
    title: 'scheduled task \\Runlayer\\Provisioning registered (auto-provisioning)',
    failExit: 3,
    fix: 'Run Install-AiwatchProvisioning.ps1 again as SYSTEM while the user is signed in.',
  },
  {
    id: 'config',
    title: 'tenant configuration (Host, OrgApiKey, EnrollmentKey) installed',
    failExit: 1,
    fix: 'Regenerate the scripts with aiwatch-deploy intune (right --host and key files) and run Install-AiwatchDetect.ps1 again; the keys live in the installed Invoke-Aiwatch*.ps1 under %ProgramFiles%\\Runlayer.',
  },
  {
    id: 'user',
    title: 'a user is signed in',
    failExit: 1,
    fix: 'The scan runs as the signed-in user: sign in (console or Remote Desktop) and run again.',
  },
  {
    id: 'host-reachable',
    title: 'Runlayer host reachable over HTTPS',
    failExit: 2,
    fix: 'Check DNS, the firewall and the proxy for the host (outbound HTTPS 443); the scan retries on its schedule.',
  },
  {
    id: 'tls',
    title: 'TLS not intercepted (certificate chain)',
    failExit: 2,
    fix: 'A TLS-inspecting proxy re-signs the traffic (CERTIFICATE_VERIFY_FAILED): put its root CA in the machine store (Cert:\\LocalMachine\\Root), or deploy it with aiwatch-deploy intune --ca-bundle (RUNLAYER_CA_BUNDLE; SSL_CERT_FILE and REQUESTS_CA_BUNDLE are the fallbacks the agent reads).',
  },
  {
    id: 'org-key',
    title: 'organization API key accepted (no HTTP 401/403 in the last scan)',
    failExit: 1,
    fix: 'HTTP 401: the OrgApiKey is wrong or revoked - create a new key in Runlayer and redeploy; HTTP 403: the key lacks the Detect Scan role - grant it to the key in Runlayer.',
  },
  {
    id: 'logs',
    title: 'agent logs in %ProgramData%\\Runlayer (last errors)',
    failExit: 0,
    fix: 'Read the log lines named in the evidence; no log yet means the scan task has not run: start it with Remediate-AiwatchHealth.ps1.',
  },
  {
    id: 'intune-ime',
    title: 'Intune Management Extension: logs folder present, service running',
    failExit: 0,
    fix: 'The Intune Management Extension installs with the first platform script or Win32 app assigned to the device; check the assignment and the device sync; a stopped service: Start-Service IntuneManagementExtension.',
  },
  {
    id: 'legacy',
    title: 'no legacy runlayer-scan leftovers',
    failExit: 0,
    fix: 'Remove the legacy scheduled tasks: Remediate-AiwatchHealth.ps1 does (it removes only the tasks named in the evidence).',
  },
];

/** The checks a deployment runs: `provisioning-task` only when it has auto-provisioning. */
export function windowsChecks(withProvisioning: boolean): DoctorCheck[] {
  return WINDOWS_CHECKS.filter((c) => withProvisioning || c.id !== 'provisioning-task');
}
