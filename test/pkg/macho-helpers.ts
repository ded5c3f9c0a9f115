/**
 * Shared by the Mach-O, lipo and binary-check tests: where the independent tools are, the real Mach-O files that
 * ship inside an npm dependency (linker output nobody here wrote), and small hand-built images for layouts the demo
 * generator does not produce (32-bit, big-endian).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { toolAvailable } from '../helpers/tools.js';

/**
 * An LLVM tool by name: on PATH, else in the newest /usr/lib/llvm-N/bin (Debian installs llvm-lipo and llvm-otool
 * only there). Returns the bare name when absent, so describeWithTools reports it missing.
 */
export function llvmTool(name: string): string {
  if (toolAvailable(name)) return name;
  const base = '/usr/lib';
  const dirs = existsSync(base) ? readdirSync(base).filter((d) => /^llvm-\d+$/.test(d)) : [];
  dirs.sort((a, b) => Number(b.slice(5)) - Number(a.slice(5)));
  for (const d of dirs) {
    const p = path.join(base, d, 'bin', name);
    if (existsSync(p)) return p;
  }
  return name;
}

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const demoArm64Path = path.join(repoRoot, 'fixtures/demo/aiwatch-arm64');
export const demoX8664Path = path.join(repoRoot, 'fixtures/demo/aiwatch-x86_64');
export const demoArm64 = (): Buffer => readFileSync(demoArm64Path);
export const demoX8664 = (): Buffer => readFileSync(demoX8664Path);

/**
 * The darwin prebuilds of tree-sitter-powershell (a devDependency, version pinned by package-lock): a real
 * linker-signed arm64 bundle and an unsigned x86_64 bundle, produced by Apple's ld.
 */
export function treeSitterPrebuild(dir: 'darwin-arm64' | 'darwin-x64' | 'win32-x64' | 'linux-x64'): string {
  const req = createRequire(import.meta.url);
  const pkg = path.dirname(req.resolve('tree-sitter-powershell/package.json'));
  return path.join(pkg, 'prebuilds', dir, 'tree-sitter-powershell.node');
}

/**
 * A minimal 32-bit MH_EXECUTE image, little- or big-endian: mach_header, LC_SEGMENT __TEXT with one __text
 * section holding `code`, LC_UUID. `cputype`/`cpusubtype` choose the architecture (i386 = 7/3, ppc = 18/0).
 */
export function thin32(opts: { littleEndian: boolean; cputype: number; cpusubtype: number; code: Buffer }): Buffer {
  const size = 0x1000;
  const b = Buffer.alloc(size);
  const w = (off: number, v: number): void => void (opts.littleEndian ? b.writeUInt32LE(v >>> 0, off) : b.writeUInt32BE(v >>> 0, off));
  const sizeofcmds = 56 + 68 + 24;
  w(0, 0xfeedface);
  w(4, opts.cputype);
  w(8, opts.cpusubtype);
  w(12, 2); // MH_EXECUTE
  w(16, 2);
  w(20, sizeofcmds);
  w(24, 0x1); // MH_NOUNDEFS
  let at = 28;
  w(at, 0x1); // LC_SEGMENT
  w(at + 4, 56 + 68);
  b.write('__TEXT', at + 8, 'latin1');
  w(at + 24, 0x1000); // vmaddr
  w(at + 28, 0x1000); // vmsize
  w(at + 32, 0); // fileoff
  w(at + 36, size); // filesize
  w(at + 40, 5);
  w(at + 44, 5);
  w(at + 48, 1); // nsects
  const sect = at + 56;
  b.write('__text', sect, 'latin1');
  b.write('__TEXT', sect + 16, 'latin1');
  w(sect + 32, 0x1000 + 0x200); // addr
  w(sect + 36, opts.code.length);
  w(sect + 40, 0x200); // offset
  w(sect + 44, 2); // align
  at += 56 + 68;
  w(at, 0x1b); // LC_UUID
  w(at + 4, 24);
  Buffer.from('00112233445566778899aabbccddeeff', 'hex').copy(b, at + 8);
  opts.code.copy(b, 0x200);
  return b;
}

/** otool -l output as [{cmd, cmdsize, fields}] — the independent view of the load commands. */
export function parseOtoolL(text: string): { cmd: string; cmdsize: number; fields: Record<string, string> }[] {
  const out: { cmd: string; cmdsize: number; fields: Record<string, string> }[] = [];
  let cur: { cmd: string; cmdsize: number; fields: Record<string, string> } | undefined;
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+) (.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'cmd') {
      cur = { cmd: value.trim(), cmdsize: 0, fields: {} };
      out.push(cur);
    } else if (cur && key === 'cmdsize') cur.cmdsize = Number(value.trim());
    else if (cur && !(key in cur.fields)) cur.fields[key] = value.trim();
  }
  return out;
}
