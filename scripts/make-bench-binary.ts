/**
 * A large, realistic agent binary for `npm run bench`: a thin x86_64 macOS executable (MH_EXECUTE) whose __TEXT
 * segment holds real machine code — the host's shared libraries (/usr/lib/x86_64-linux-gnu, …) concatenated in
 * name order up to the requested size — signed like the demo binaries (CodeDirectory v0x20500 with SHA-256 hashes
 * of every 4 KiB page, the Developer ID designated requirement, a DEMO CMS blob), so the release check reads it
 * like a signed agent and verifies every page hash, as it would for the real agent (the DEMO signer is not an Apple
 * Developer ID: the bench builds with --development-build).
 *
 *   node scripts/make-bench-binary.ts --size-mib 64 --out /tmp/aiwatch-bench-64
 *
 * The bytes depend on the host's libraries (the point is realistic compressibility, not reproducibility across
 * machines); on one machine the output is the same every run. Not a fixture: nothing here is committed.
 * Erasable TypeScript: node ≥ 22.18 runs it directly.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
// @ts-expect-error TS5097: node runs this script directly (type stripping), so imports name the .ts file.
import { DEMO_IDENTIFIER, DEMO_TEAM_ID } from './demo-binary/build.ts';
import {
  blob,
  codeDirectory,
  CS_EXECSEG_MAIN_BINARY,
  CS_RUNTIME,
  CSMAGIC_BLOBWRAPPER,
  developerIdRequirement,
  requirementsSet,
  superBlob,
  // @ts-expect-error TS5097: see above.
} from './demo-binary/code-signature.ts';
// @ts-expect-error TS5097: see above.
import { demoCms, demoSigner } from './demo-binary/demo-cms.ts';
// @ts-expect-error TS5097: see above.
import { Writer } from './demo-binary/macho-image.ts';

const PAGE = 0x1000;
const VM_BASE = 0x100000000;
const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];

const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;


/** Shared libraries of the host (regular files named *.so or *.so.N…), in a fixed order, up to `want` bytes. */
export function machineCode(want: number): Buffer {
  const files: string[] = [];
  for (const dir of LIB_DIRS) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const f = path.join(dir, n);
      if (/\.so(\.|$)/.test(n) && statSync(f, { throwIfNoEntry: false })?.isFile()) files.push(f);
    }
  }
  const out = Buffer.alloc(want);
  let at = 0;
  for (let round = 0; at < want && files.length; round++) {
    for (const f of files) {
      if (at >= want) break;
      at += readFileSync(f).copy(out, at);
    }
  }
  if (at < want) throw new Error(`no shared libraries found under ${LIB_DIRS.join(', ')}`);
  return out;
}

function segment64(name: string, vmaddr: number, vmsize: number, fileoff: number, filesize: number, prot: number, section?: { name: string; offset: number; size: number }): Buffer {
  const w = new Writer().u32(0x19).u32(section ? 152 : 72).name16(name).u64(vmaddr).u64(vmsize).u64(fileoff).u64(filesize);
  w.u32(prot).u32(prot).u32(section ? 1 : 0).u32(0);
  if (section) {
    w.name16(section.name).name16(name).u64(vmaddr + section.offset).u64(section.size).u32(section.offset).u32(4).u32(0).u32(0);
    w.u32(0x80000400).u32(0).u32(0).u32(0);
  }
  return w.done();
}

function strCommand(cmd: number, fixed: Buffer, s: string): Buffer {
  const str = Buffer.from(`${s}\0`, 'utf8');
  const strOffset = 12 + fixed.length;
  const size = roundUp(strOffset + str.length, 8);
  return Buffer.concat([new Writer().u32(cmd).u32(size).u32(strOffset).done(), fixed, str, Buffer.alloc(size - strOffset - str.length)]);
}

/** Header + load commands for a text segment of `textSize` bytes followed by a signature of `sigSize` bytes. */
function headerAndCommands(textSize: number, sigSize: number, uuid: Buffer): { head: Buffer; textOff: number } {
  const linkeditOff = textSize;
  const build = (textOff: number): Buffer[] => [
    segment64('__PAGEZERO', 0, VM_BASE, 0, 0, 0),
    segment64('__TEXT', VM_BASE, textSize, 0, textSize, 5, { name: '__text', offset: textOff, size: textSize - textOff }),
    segment64('__LINKEDIT', VM_BASE + textSize, roundUp(sigSize, PAGE), linkeditOff, sigSize, 1),
    strCommand(0xe, Buffer.alloc(0), '/usr/lib/dyld'),
    new Writer().u32(0x1b).u32(24).raw(uuid).done(),
    new Writer().u32(0x32).u32(24).u32(1).u32(0x000b0000).u32(0x000e0000).u32(0).done(),
    new Writer().u32(0x80000028).u32(24).u64(textOff).u64(0).done(),
    strCommand(0xc, new Writer().u32(2).u32(1351 << 16).u32(0x10000).done(), '/usr/lib/libSystem.B.dylib'),
    new Writer().u32(0x1d).u32(16).u32(linkeditOff).u32(sigSize).done(),
  ];
  const sizeofcmds = build(0).reduce((n, b) => n + b.length, 0);
  const textOff = roundUp(32 + sizeofcmds, 16);
  const cmds = build(textOff);
  const header = new Writer().u32(0xfeedfacf).u32(0x01000007).u32(0x80000003).u32(2).u32(cmds.length).u32(sizeofcmds).u32(0x200085).u32(0).done();
  return { head: Buffer.concat([header, ...cmds]), textOff };
}

function signature(code: Buffer, textSize: number): Buffer {
  const req = requirementsSet(developerIdRequirement(DEMO_IDENTIFIER, DEMO_TEAM_ID));
  const cd = codeDirectory({
    identifier: DEMO_IDENTIFIER,
    teamId: DEMO_TEAM_ID,
    flags: CS_RUNTIME,
    code,
    special: new Map([[2, req]]),
    execSeg: { base: 0, limit: textSize, flags: CS_EXECSEG_MAIN_BINARY },
    runtimeVersion: 0x000e0000,
  });
  const cdhash = createHash('sha256').update(cd).digest().subarray(0, 20);
  return superBlob(new Map([[0, cd], [2, req], [0x10000, blob(CSMAGIC_BLOBWRAPPER, demoCms(cd, [cdhash], demoSigner(DEMO_TEAM_ID)))]]));
}

/** A signed thin x86_64 executable of about `size` bytes whose code is the host's shared libraries. */
export function benchBinary(size: number): Buffer {
  const textSize = roundUp(size, PAGE);
  const uuid = createHash('sha256').update(`aiwatch bench binary ${size}`).digest().subarray(0, 16);
  // The signature's size does not depend on the hashes it holds: measure it over a zero image first.
  const sigSize = roundUp(signature(Buffer.alloc(textSize), textSize).length, 16);
  const { head, textOff } = headerAndCommands(textSize, sigSize, uuid);
  const image = Buffer.alloc(textSize + sigSize);
  head.copy(image, 0);
  machineCode(textSize - textOff).copy(image, textOff);
  signature(image.subarray(0, textSize), textSize).copy(image, textSize);
  return image;
}

function main(argv: string[]): number {
  const at = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const mib = Number(at('--size-mib'));
  const out = at('--out');
  if (!Number.isInteger(mib) || mib < 1 || !out) {
    process.stderr.write('usage: node scripts/make-bench-binary.ts --size-mib N --out FILE\n');
    return 2;
  }
  const bytes = benchBinary(mib * 1024 * 1024);
  const tmp = `${out}.partial-${process.pid}`;
  writeFileSync(tmp, bytes, { mode: 0o755 });
  renameSync(tmp, out);
  process.stdout.write(`wrote ${out} (${bytes.length} bytes)\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
