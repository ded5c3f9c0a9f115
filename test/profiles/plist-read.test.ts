/** The typed plist reader: keeps types apart and reports every structural problem the plist library hides. */
import { describe, expect, it } from 'vitest';
import { readPlist, toPlain } from '../../src/formats/plist-read.js';

const doc = (body: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n${body}\n</plist>\n`;
const problems = (body: string): string[] => readPlist(doc(body), 'f.plist').problems.map((p) => `${p.where}: ${p.message}`);

describe('readPlist', () => {
  it('keeps integer, real, string and boolean apart', () => {
    const { root, problems: ps } = readPlist(doc('<dict><key>i</key><integer>-0x1F</integer><key>r</key><real>1</real><key>s</key><string>1</string><key>b</key><true/><key>d</key><date>2024-10-21T14:54:30Z</date><key>x</key><data>AAEC</data><key>e</key><string/></dict>'), 'f');
    expect(ps).toEqual([]);
    const d = root as { type: 'dict'; entries: Map<string, { type: string; value: unknown }> };
    expect([...d.entries].map(([k, v]) => [k, v.type])).toEqual([['i', 'integer'], ['r', 'real'], ['s', 'string'], ['b', 'boolean'], ['d', 'date'], ['x', 'data'], ['e', 'string']]);
    expect(d.entries.get('i')!.value).toBe(-31n);
    expect(toPlain(root!)).toMatchObject({ i: -31, r: 1, s: '1', b: true, e: '' });
  });
  it('keeps whitespace and decoded entities of strings exactly', () => {
    const { root } = readPlist(doc('<string>  a &lt;&amp;&gt; &#x202E;b\t</string>'), 'f');
    expect(toPlain(root!)).toBe('  a <&> \u202eb\t');
  });
  it('reports every problem at once', () => {
    expect(problems('<dict><key>a</key><integer>1</integer><key>a</key><integer>2</integer><key>b</key><key>c</key><integer>x</integer><key>d</key><date>yesterday</date><key>e</key><data>@@</data><key>f</key><true>yes</true><key>g</key><foo/><key>h</key></dict>')).toEqual([
      'f.plist:a: duplicate key (readers silently keep one of them)',
      'f.plist:b: key without a value',
      'f.plist:c: <integer> "x" is not an integer',
      'f.plist:d: <date> "yesterday" is not of the form YYYY-MM-DDTHH:MM:SSZ',
      'f.plist:e: <data> is not valid base64',
      'f.plist:f: <true/> must be empty',
      'f.plist:g: <foo> is not a property-list element',
      'f.plist:h: key without a value',
    ]);
  });
  it('rejects text in containers, values in place of keys, two root values, a wrong root and a binary plist', () => {
    expect(problems('<dict>stray<key>a</key><string>x</string></dict>')).toEqual(['f.plist: text "stray" is not allowed inside <dict>']);
    expect(problems('<dict><string>a</string><string>x</string></dict>')).toEqual([
      'f.plist: expected <key> in <dict>, found <string>',
      'f.plist: expected <key> in <dict>, found <string>',
    ]);
    expect(problems('<string>a</string><string>b</string>')).toEqual(['f.plist: <plist> must hold exactly one value, found 2']);
    expect(readPlist('<?xml version="1.0"?><dict/>', 'f').problems[0]!.message).toMatch(/root element is <dict>/);
    expect(readPlist('bplist00...', 'f').problems[0]!.message).toMatch(/binary property list/);
  });
  it('reports malformed XML with its position', () => {
    expect(readPlist(doc('<dict><key>a</key><string>x</dict>'), 'f').problems[0]!.message).toMatch(/not well-formed XML: .*line 4/);
  });
});
