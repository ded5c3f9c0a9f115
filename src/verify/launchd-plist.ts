/**
 * Checks of a launchd job plist (`/Library/Launch{Agents,Daemons}/<Label>.plist`): the keys launchd.plist(5)
 * documents and their types (a `<string>900</string>` StartInterval is silently ignored by launchd), Label and
 * Program/ProgramArguments present, an absolute program path, the file named after the Label, KeepAlive and
 * LimitLoadToSessionType values, and — when the Label is one of the spec's units — equality with what the spec
 * generates (so a hand-edited unit shows up).
 * Does not cover: whether the program exists, Sockets/MachServices/LaunchEvents contents.
 */
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Problem } from '../errors.js';
import { childPath, readPlist, toPlain, type PNode, type PType } from '../formats/plist-read.js';
import type { VerifyContext } from './context.js';

const KEYS: Record<string, PType[]> = {
  Label: ['string'], Disabled: ['boolean'], UserName: ['string'], GroupName: ['string'], inetdCompatibility: ['dict'],
  LimitLoadToHosts: ['array'], LimitLoadFromHosts: ['array'], LimitLoadToSessionType: ['string', 'array'],
  LimitLoadToHardware: ['dict'], LimitLoadFromHardware: ['dict'], Program: ['string'], ProgramArguments: ['array'],
  EnableGlobbing: ['boolean'], EnableTransactions: ['boolean'], EnablePressuredExit: ['boolean'], OnDemand: ['boolean'],
  ServiceIPC: ['boolean'], KeepAlive: ['boolean', 'dict'], RunAtLoad: ['boolean'], RootDirectory: ['string'],
  WorkingDirectory: ['string'], EnvironmentVariables: ['dict'], Umask: ['integer', 'string'], TimeOut: ['integer'],
  ExitTimeOut: ['integer'], ThrottleInterval: ['integer'], InitGroups: ['boolean'], WatchPaths: ['array'],
  QueueDirectories: ['array'], StartOnMount: ['boolean'], StartInterval: ['integer'], StartCalendarInterval: ['dict', 'array'],
  StandardInPath: ['string'], StandardOutPath: ['string'], StandardErrorPath: ['string'], Debug: ['boolean'],
  WaitForDebugger: ['boolean'], SoftResourceLimits: ['dict'], HardResourceLimits: ['dict'], Nice: ['integer'],
  ProcessType: ['string'], AbandonProcessGroup: ['boolean'], LowPriorityIO: ['boolean'], LowPriorityBackgroundIO: ['boolean'],
  MaterializeDatalessFiles: ['boolean'], LaunchOnlyOnce: ['boolean'], MachServices: ['dict'], Sockets: ['dict', 'array'],
  LaunchEvents: ['dict'], SessionCreate: ['boolean'], LegacyTimers: ['boolean'], AssociatedBundleIdentifiers: ['string', 'array'],
};
const KEEPALIVE_KEYS: Record<string, PType[]> = {
  SuccessfulExit: ['boolean'], NetworkState: ['boolean'], PathState: ['dict'], OtherJobEnabled: ['dict'], Crashed: ['boolean'],
  AfterInitialDemand: ['boolean', 'dict'],
};
const PROCESS_TYPES = ['Background', 'Standard', 'Adaptive', 'Interactive'];
const SESSION_TYPES = ['Aqua', 'Background', 'LoginWindow', 'StandardIO', 'System'];

type Dict = PNode & { type: 'dict' };

function typed(d: Dict, table: Record<string, PType[]>, where: string, fail: (w: string, m: string) => void): void {
  for (const [k, v] of d.entries) {
    const types = table[k];
    if (!types) fail(childPath(where, k), `unknown key ${JSON.stringify(k)} (not in launchd.plist(5))`);
    else if (!types.includes(v.type)) fail(childPath(where, k), `expected ${types.map((t) => `<${t}>`).join(' or ')}, found <${v.type}> (launchd ignores it)`);
  }
}

function programRules(d: Dict, fail: (w: string, m: string) => void): void {
  const program = d.entries.get('Program');
  const args = d.entries.get('ProgramArguments');
  if (!program && !args) fail('', 'needs Program or ProgramArguments');
  if (args?.type === 'array') {
    if (args.items.length === 0) fail('ProgramArguments', 'must not be empty');
    args.items.forEach((a, i) => a.type !== 'string' && fail(childPath('ProgramArguments', i), `expected <string>, found <${a.type}>`));
  }
  const exe = program?.type === 'string' ? program.value : args?.type === 'array' && args.items[0]?.type === 'string' ? args.items[0].value : undefined;
  if (exe !== undefined && !exe.startsWith('/')) fail(program ? 'Program' : 'ProgramArguments[0]', `program ${JSON.stringify(exe)} must be an absolute path`);
}

function valueRules(d: Dict, fail: (w: string, m: string) => void): void {
  const get = (k: string): PNode | undefined => d.entries.get(k);
  const si = get('StartInterval');
  if (si?.type === 'integer' && si.value <= 0n) fail('StartInterval', `must be a positive number of seconds, got ${si.value}`);
  const ti = get('ThrottleInterval');
  if (ti?.type === 'integer' && ti.value < 0n) fail('ThrottleInterval', `must not be negative, got ${ti.value}`);
  const pt = get('ProcessType');
  if (pt?.type === 'string' && !PROCESS_TYPES.includes(pt.value)) fail('ProcessType', `${JSON.stringify(pt.value)} is not one of ${PROCESS_TYPES.join(', ')}`);
  const st = get('LimitLoadToSessionType');
  const sessions = st?.type === 'string' ? [st] : st?.type === 'array' ? st.items : [];
  for (const s of sessions) if (s.type === 'string' && !SESSION_TYPES.includes(s.value)) fail('LimitLoadToSessionType', `${JSON.stringify(s.value)} is not one of ${SESSION_TYPES.join(', ')}`);
  const ka = get('KeepAlive');
  if (ka?.type === 'dict') typed(ka, KEEPALIVE_KEYS, 'KeepAlive', fail);
  const env = get('EnvironmentVariables');
  if (env?.type === 'dict') for (const [k, v] of env.entries) if (v.type !== 'string') fail(childPath('EnvironmentVariables', k), `expected <string>, found <${v.type}>`);
}

/** Every problem of a launchd plist's text. */
export function launchdPlistProblems(source: string | Uint8Array, file: string, ctx: Pick<VerifyContext, 'spec'>): Problem[] {
  const { root, problems } = readPlist(source, file);
  const fail = (where: string, message: string): void => void problems.push({ where: where ? `${file}:${where}` : file, message });
  if (!root) return problems;
  if (root.type !== 'dict') {
    fail('', `a launchd job must be a dictionary, found <${root.type}>`);
    return problems;
  }
  typed(root, KEYS, '', fail);
  const label = root.entries.get('Label');
  if (!label) fail('', 'missing required key Label');
  else if (label.type === 'string' && label.value.trim() === '') fail('Label', 'must not be empty');
  programRules(root, fail);
  valueRules(root, fail);
  if (label?.type === 'string') {
    const base = path.basename(file);
    if (base.endsWith('.plist') && base !== `${label.value}.plist`) fail('Label', `file is named ${base}, but launchd units are installed as <Label>.plist (${label.value}.plist)`);
    const unit = ctx.spec.units.find((u) => u.label === label.value);
    if (unit && problems.length === 0 && !isDeepStrictEqual(toPlain(root), unit.plist)) {
      const keys = new Set([...Object.keys(unit.plist), ...root.entries.keys()]);
      const differ = [...keys].filter((k) => !isDeepStrictEqual(unit.plist[k], root.entries.has(k) ? toPlain(root.entries.get(k)!) : undefined));
      fail('', `differs from the spec's unit ${label.value} in ${differ.join(', ')}`);
    }
  }
  return problems;
}
