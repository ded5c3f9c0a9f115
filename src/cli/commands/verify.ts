/** `aiwatch-deploy verify FILE…`: adapter over src/verify (detects each file's kind and runs its checks). */
import path from 'node:path';
import { loadSpec } from '../../config/spec.js';
import { ExitCode } from '../../errors.js';
import { checkInputFile } from '../../io/fs.js';
import { verifyFiles, type FileReport } from '../../verify/run.js';
import { sweepDebris } from '../artifacts.js';
import { defineCommand } from '../command.js';

function textOf(r: FileReport, cwd: string): string {
  const name = path.relative(cwd, r.file) || r.file;
  const head = r.problems.length === 0 ? `ok      ${name} (${r.describe})` : `FAILED  ${name} (${r.describe}): ${r.problems.length} problem(s)`;
  const rel = (w: string): string => (w.startsWith(r.file) ? name + w.slice(r.file.length) : w);
  return [head, ...r.problems.map((p) => `  ${rel(p.where)}: ${p.message}`), ...r.notes.map((n) => `  note: ${n}`)].join('\n');
}

export const verifyCommand = defineCommand({
  command: 'verify <files..>',
  describe: 'Check pkgs, release zips, profiles, launchd plists, Jamf schemas, Intune .ps1 scripts and .intunewin packages: every problem at once',
  examples: [
    ['$0 verify out/aiwatch-1.4.0-macos-arm64.pkg', 'a flat package: xar checksums, Bom and Payload, scripts, signatures (exit 1 on any problem)'],
    ['$0 verify out/aiwatch-1.4.0-macos-arm64.zip', 'a release zip: manifest, SHA256SUMS, the pkg and profiles inside'],
    ['$0 verify out/*.mobileconfig out/launchd/*.plist', 'exit 0 when every file is fine, 1 when any has a problem'],
    ['$0 verify out/intune/*.ps1 --ca-file root.pem', 'Intune scripts: ASCII/CRLF/size, PowerShell syntax, Authenticode signature chaining to root.pem'],
    ['$0 verify out/intune/Install-AiwatchDetect.intunewin', 'Win32 app package: HMAC, decryption, digest, Detection.xml, setup file, scripts inside'],
    ['$0 verify --json acme.mobileconfig', 'the problems as JSON'],
  ],
  positionals: { files: { type: 'string', array: true, describe: 'Files to check (kind told from content and name)' } },
  options: {
    spec: { type: 'string', describe: 'Deployment spec JSON the files were generated from (identifier, team, domain, …)' },
    'ca-file': {
      type: 'string',
      describe: 'PEM trust anchors: Authenticode-signed .ps1 scripts (also inside .intunewin) must chain to one (osslsigncode verify); unsigned ones then fail',
    },
  },
  run: async (args, ctx) => {
    const spec = await loadSpec(args.spec && path.resolve(ctx.cwd, args.spec));
    const files = args.files.map((f) => path.resolve(ctx.cwd, f));
    const caFile = args['ca-file'] && path.resolve(ctx.cwd, args['ca-file']);
    if (caFile) await checkInputFile(caFile, '--ca-file');
    await sweepDebris(ctx);
    const reports = await verifyFiles(files, { spec, env: ctx.env, signal: ctx.signal, caFile });
    const bad = reports.filter((r) => r.problems.length > 0);
    const unread = reports.filter((r) => r.kind === 'unreadable');
    if (unread.length > 0) {
      // Every file was still checked and is in the report; a missing input is still exit 3, as everywhere.
      if (!ctx.json) for (const r of unread) ctx.stderr(`aiwatch-deploy: ${r.file}: verify: ${r.problems[0]!.message}\n`);
      return {
        text: [...reports.map((r) => textOf(r, ctx.cwd)), `${reports.length - bad.length} ok, ${bad.length} with problems`].join('\n'),
        json: { ok: false, files: reports },
        exitCode: ExitCode.inputFile,
        failure: {
          kind: 'input-file',
          message: `${unread.length} of ${reports.length} file(s) could not be read: ${unread.map((r) => `${r.file} (${r.problems[0]!.message})`).join(', ')}`,
          problems: unread.map((r) => `${r.file}: ${r.problems[0]!.message}`),
        },
      };
    }
    return {
      text: [...reports.map((r) => textOf(r, ctx.cwd)), `${reports.length - bad.length} ok, ${bad.length} with problems`].join('\n'),
      json: { ok: bad.length === 0, files: reports },
      exitCode: bad.length > 0 ? ExitCode.problems : ExitCode.ok,
      failure: {
        kind: 'problems',
        message: `${bad.length} of ${reports.length} file(s) with problems`,
        problems: bad.flatMap((r) => r.problems.map((p) => `${p.where}: ${p.message}`)),
      },
    };
  },
});
