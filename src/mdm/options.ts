/**
 * The target options every driver checks the same way (jamf, intune, kandji, fleet driver.ts): an option the driver
 * does not read is named with the list of those it does, and `namePrefix`, where a driver reads it, is the prefix of
 * every object name we make.
 */
import type { RolloutTarget } from '../rollout/model.js';

const PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$/;

/** The prefix of every object name we make (`options.namePrefix`, default `aiwatch`). */
export function namePrefixOf(target: Pick<RolloutTarget, 'options'>): string {
  return typeof target.options.namePrefix === 'string' ? target.options.namePrefix : 'aiwatch';
}

/**
 * The problems of `target.options`: each option not in `known` (name → what it is), a `namePrefix` that is not a
 * usable prefix, and what `check` says of the driver's other options (undefined: fine).
 */
export function optionProblems(target: Pick<RolloutTarget, 'name' | 'options'>, known: Record<string, string>, check?: (name: string, value: unknown) => string | undefined): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(target.options)) {
    if (!(k in known)) problems.push(`target ${target.name}: options: unknown option "${k}"; known: ${Object.entries(known).map(([n, w]) => `${n} (${w})`).join(', ')}`);
    else if (k === 'namePrefix') {
      if (typeof v !== 'string' || !PREFIX_RE.test(v)) problems.push(`target ${target.name}: options.namePrefix must match ${PREFIX_RE.source}, got ${JSON.stringify(v)}`);
    } else {
      const problem = check?.(k, v);
      if (problem) problems.push(problem);
    }
  }
  return problems;
}
