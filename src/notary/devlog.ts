/**
 * The notary's developer log (the JSON behind `developerLogUrl`): `status`, `statusSummary`, `statusCode` and
 * `issues[]` of `{severity, path, message, architecture?, docUrl?, code?}`. We keep what a user acts on and
 * tolerate missing fields (the log is informational; a malformed one must not hide the verdict).
 */

export interface LogIssue {
  /** "error" or "warning". */
  severity: string;
  /** Where inside the submission, e.g. `aiwatch.pkg/aiwatch.pkg Contents/Payload/usr/local/lib/…/aiwatch`. */
  path: string;
  message: string;
  architecture?: string;
  docUrl?: string;
}

export interface DeveloperLog {
  status?: string;
  statusSummary?: string;
  issues: LogIssue[];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function parseDeveloperLog(json: unknown): DeveloperLog {
  const o = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  const issues = Array.isArray(o.issues) ? o.issues : [];
  return {
    status: str(o.status),
    statusSummary: str(o.statusSummary),
    issues: issues.map((raw) => {
      const i = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
      const issue: LogIssue = {
        severity: str(i.severity) ?? 'error',
        path: str(i.path) ?? '(no path)',
        message: str(i.message) ?? '(no message)',
      };
      if (str(i.architecture)) issue.architecture = str(i.architecture);
      if (str(i.docUrl)) issue.docUrl = str(i.docUrl);
      return issue;
    }),
  };
}

/** One line per issue: `error: <path> [arch]: <message>`. */
export function formatIssues(issues: readonly LogIssue[]): string[] {
  return issues.map((i) => `${i.severity}: ${i.path}${i.architecture ? ` [${i.architecture}]` : ''}: ${i.message}`);
}
