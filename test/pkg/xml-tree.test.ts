import fc from 'fast-check';
import { create } from 'xmlbuilder2';
import { describe, expect, it } from 'vitest';
import { childText, el, parseDocument, parseXml, serializeXml, textOf, XmlLimitError, XmlSyntaxError, type XmlElement } from '../../src/formats/xml-tree.js';

describe('strict XML reader: limits (src/formats/limits.ts)', () => {
  const nested = (n: number): string => `${'<a>'.repeat(n)}${'</a>'.repeat(n)}`;

  it('accepts 256 nested elements, refuses 257 and 10,000 with an XmlLimitError (a kind of XmlSyntaxError)', () => {
    expect(parseXml(nested(256)).name).toBe('a');
    expect(() => parseXml(nested(257))).toThrow(XmlLimitError);
    expect(() => parseXml(nested(10_000))).toThrow(/elements nest deeper than 256 levels: over the limit \(line 1, column 769\)/);
    expect(() => parseXml(nested(10_000))).toThrow(XmlSyntaxError);
    expect(() => parseXml(nested(11), { maxDepth: 10 })).toThrow(/deeper than 10 levels/);
  });

  it('counts elements, text nodes and attributes against the node limit', () => {
    expect(parseXml(`<r>${'<f/>'.repeat(199_999)}</r>`).children).toHaveLength(199_999);
    expect(() => parseXml(`<r>${'<f/>'.repeat(200_000)}</r>`)).toThrow(/more than 200000 elements, text nodes and attributes: over the limit/);
    expect(() => parseXml('<r a="1" b="2">t<x/>u</r>', { maxNodes: 5 })).toThrow(XmlLimitError);
    expect(parseXml('<r a="1" b="2">t<x/>u</r>', { maxNodes: 6 }).children).toEqual(['t', el('x'), 'u']);
  });

  it('parseDocument reports a limit hit as the one problem, worded as a limit', () => {
    expect(parseDocument(nested(300), 'a')).toEqual({ problem: expect.stringMatching(/^not read: elements nest deeper than 256 levels: over the limit .*\(a hostile or damaged file\)$/), limit: 'xml.depth' });
  });

  it('textOf walks any depth without recursion', () => {
    let deep: XmlElement = el('z', {}, 'x');
    for (let i = 0; i < 100_000; i++) deep = el('a', {}, ['<', deep, '>']);
    expect(textOf(deep)).toBe(`${'<'.repeat(100_000)}x${'>'.repeat(100_000)}`);
  });
});

describe('strict XML reader', () => {
  it('reads elements, attributes, entities, character references, CDATA; skips comments, PIs, layout whitespace', () => {
    const doc = parseXml('\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><!DOCTYPE a>\n<a x="1 &amp; 2" y=\'&quot;q&quot;\'>\n  <b>&lt;&#65;&#x42;&gt;</b>\n  <?pi data?>\n  <c><![CDATA[<raw & stuff>]]></c>\n  <d/>\n</a>\n<!-- after -->\n');
    expect(doc).toEqual({
      name: 'a',
      attrs: { x: '1 & 2', y: '"q"' },
      children: [el('b', {}, '<AB>'), el('c', {}, '<raw & stuff>'), el('d')],
    });
    expect(childText(doc, 'b')).toBe('<AB>');
    expect(textOf(el('p', {}, ['a', el('q', {}, 'b'), 'c']))).toBe('abc');
  });

  it.each([
    ['<a><b></a>', '</a> closes <b> (line 1, column 7)'],
    ['<a>', '<a> is not closed'],
    ['garbage', 'text outside the root element'],
    ['<a/><b/>', 'a second root element'],
    ['<a x="1" x="2"/>', 'duplicate attribute "x"'],
    ['<a x=1/>', 'attribute "x" value must be quoted'],
    ['<a>&bogus;</a>', 'unknown entity "&bogus;"'],
    ['<a>AT&T</a>', 'bare "&" (write &amp;)'],
    ['<a>&#0;</a>', 'invalid character reference "&#0;"'],
    ['<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', 'DOCTYPE with an internal subset is not accepted'],
    ['<a><!-- x -- y --></a>', '"--" inside a comment'],
    ['<a x="<"/>', '"<" inside attribute "x"'],
    ['', 'no root element'],
    ['<a></a>\n<?xml version="1.0"?>', 'XML declaration not at the start of the document'],
    ['<a b="1"c="2"/>', 'expected whitespace, ">" or "/>"'],
  ])('rejects %j', (src, message) => {
    expect(() => parseXml(src)).toThrow(XmlSyntaxError);
    expect(() => parseXml(src)).toThrow(message);
  });

  it('parses back whatever xmlbuilder2 serialises (property test)', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/);
    const text = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => s.trim() !== '' && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\r]/.test(s));
    fc.assert(
      fc.property(name, fc.dictionary(name, text, { maxKeys: 3 }), fc.array(fc.tuple(name, text), { maxLength: 4 }), (root, attrs, kids) => {
        const doc = create().ele(root, { ...attrs });
        for (const [k, t] of kids) doc.ele(k).txt(t);
        const parsed = parseXml(doc.end({ prettyPrint: true }));
        expect(parsed.name).toBe(root);
        expect(parsed.attrs).toEqual(Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, v.replace(/[\t\n]/g, ' ')])));
        expect(parsed.children.map((c) => (typeof c === 'string' ? c : [c.name, textOf(c)]))).toEqual(kids);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps an attribute named __proto__ as data', () => {
    const a = parseXml('<a __proto__="x" b="y"/>');
    expect(Object.entries(a.attrs)).toEqual([['__proto__', 'x'], ['b', 'y']]);
    expect(Object.getPrototypeOf(a.attrs)).toBe(Object.prototype);
  });

  it('serializeXml → parseXml is the identity on trees without layout text', () => {
    const tree = el('xar', {}, [el('toc', {}, [el('checksum', { style: 'sha1' }, [el('offset', {}, '0')]), el('cert', {}, 'AAAA\nBBBB')])]);
    expect(parseXml(serializeXml(tree))).toEqual(tree);
    expect(serializeXml(tree)).toBe('<?xml version="1.0" encoding="UTF-8"?>\n<xar>\n <toc>\n  <checksum style="sha1">\n   <offset>0</offset>\n  </checksum>\n  <cert>AAAA\nBBBB</cert>\n </toc>\n</xar>');
  });
});
