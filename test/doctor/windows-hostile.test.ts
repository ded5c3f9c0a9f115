/**
 * Hostile spec and option values never change the structure of the Windows doctor scripts. The values that reach
 * them and that validation lets hold quotes, `$()`, backticks or comment openers — the --expected-publisher
 * (printable ASCII) and the legacy wrapper's file name (the spec's absPath) — give each script the same
 * tree-sitter shape as a benign value, and every occurrence of the value is one string literal that decodes to
 * exactly the value. Values with newlines, which validation refuses, are rendered anyway (validation bypassed) to
 * show that the quoting alone keeps them literal.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { doctorContext, renderWindowsDoctorScripts, WINDOWS_DOCTOR_SCRIPTS } from '../../src/doctor/doctor-windows.js';
import type { DeploymentSpec } from '../../src/config/spec-types.js';
import type { IntuneInput } from '../../src/intune/intune.js';
import { renderTemplate } from '../../src/render/templates.js';
import { spec, tenant } from '../intune/helpers.js';
import { psSyntaxProblems, shape, stringLiteralRanges } from '../intune/ps-parse.js';

const psLiteral = (v: string): string => `'${v.replace(/['\u2018-\u201B]/g, (q) => q + q)}'`;
const decodeVerbatim = (literal: string): string => literal.slice(1, -1).replace(/(['\u2018-\u201B])\1/g, '$1');

/** How many times `value` occurs, each as exactly one whole string literal decoding to `value`. */
async function literalOccurrences(source: string, value: string): Promise<number> {
  const quoted = psLiteral(value);
  const ranges = await stringLiteralRanges(source);
  let count = 0;
  for (let i = source.indexOf(quoted); i >= 0; i = source.indexOf(quoted, i + 1)) {
    const r = ranges.find(([s, e]) => s <= i && i + quoted.length <= e);
    expect(r, `occurrence at ${i} is outside any string literal`).toEqual([i, i + quoted.length]);
    expect(decodeVerbatim(source.slice(r![0], r![1]))).toBe(value);
    count += 1;
  }
  return count;
}

const HOSTILE = [
  "it's",
  "'+$(Invoke-Expression('calc'))+'",
  '"$(calc)"',
  '$(calc)',
  '`whoami`',
  ';exit;#',
  "''''",
  "'@",
  '<#',
  '#>',
  '${env:PATH}',
];

function input(publisher: string, wrapperName = 'runlayer-scan'): IntuneInput {
  const s: DeploymentSpec = { ...spec, legacy: { ...spec.legacy, wrapperPath: `/usr/local/bin/${wrapperName}` } };
  return { spec: s, tenant: tenant(), options: { expectedPublisher: publisher } };
}

describe('hostile values the validation accepts', () => {
  let benign: Record<string, string>;
  beforeAll(async () => {
    benign = {};
    for (const f of renderWindowsDoctorScripts(input('Runlayer'))) benign[f.name] = await shape(f.text);
  });

  for (const v of HOSTILE) {
    it(`publisher and legacy name ${JSON.stringify(v)}: same structure, value only in its literal`, async () => {
      const files = renderWindowsDoctorScripts(input(v, v));
      for (const f of files) {
        expect(await psSyntaxProblems(f.text), f.name).toEqual([]);
        expect(await shape(f.text), f.name).toBe(benign[f.name]);
      }
      const doctor = files.find((f) => f.name === WINDOWS_DOCTOR_SCRIPTS.doctor)!.text;
      // Once as the publisher, once in the legacy task names (the fix texts hold none of these values).
      expect(await literalOccurrences(doctor, v)).toBe(2);
    });
  }
});

describe('quoting alone keeps newlines literal (validation bypassed)', () => {
  const values = ["a'\r\nRemove-Item C:\\ -Recurse\r\n'", 'x\r\n}\r\nexit 0\r\n{', "\r\n'@\r\n"];
  const render = (name: string, publisher: string, legacy: string): string =>
    renderTemplate(`${name}.hbs`, { ...doctorContext(input('Runlayer')), expectedPublisher: publisher, legacyTaskNames: [legacy, 'com.runlayer.scan'] }).replace(/\r?\n/g, '\r\n');

  for (const v of values) {
    it(`${JSON.stringify(v)} as publisher and legacy task name`, async () => {
      for (const name of Object.values(WINDOWS_DOCTOR_SCRIPTS)) {
        const benign = await shape(render(name, 'Runlayer', 'runlayer-scan'));
        const text = render(name, v, v);
        expect(await psSyntaxProblems(text), name).toEqual([]);
        expect(await shape(text), name).toBe(benign);
        expect(await literalOccurrences(text, v), name).toBe(2);
      }
    });
  }

  it('validation refuses such a publisher before anything is rendered', () => {
    expect(() => renderWindowsDoctorScripts(input("a'\r\nb"))).toThrow(/--expected-publisher: expected 1-200 printable ASCII characters/);
  });
});

describe('the oracle can fail', () => {
  it('an unquoted value changes the shape', async () => {
    const good = renderWindowsDoctorScripts(input('Runlayer')).find((f) => f.name === WINDOWS_DOCTOR_SCRIPTS.doctor)!.text;
    const broken = good.replace("$AiwatchExpectedPublisher = 'Runlayer'", "$AiwatchExpectedPublisher = 'Run'+$(calc)+'layer'");
    expect(broken).not.toBe(good);
    expect(await shape(broken)).not.toBe(await shape(good));
  });
});
