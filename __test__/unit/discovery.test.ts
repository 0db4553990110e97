import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractMetaTags, parseAttributes } from '../../src/discovery/meta-tags';
import { namePrefixes, renderTemplate } from '../../src/discovery/templates';

test('meta tags anywhere in the page, content split at the first space, non-ac names ignored', () => {
  const html = `<!doctype html><html><head><title>x</title>
    <meta name="ac-discovery" content="example.com/app https://example.com/{name}-{version}.{ext}">
    <!-- <meta name="ac-discovery" content="commented.out https://no"> -->
    <script>var s = '<meta name="ac-discovery" content="in.script https://no">';</script>
    <META NAME='ac-discovery-pubkeys' CONTENT='  example.com   https://example.com/key.gpg  '/>
    <meta name="description" content="example.com https://ignored">
    <meta name="ac-discovery" content="onlyprefix">
    </head><body><p>text</p><meta content="example.com/b https://example.com/b.{ext}" name="ac-discovery"></body></html>`;
  assert.deepEqual(extractMetaTags(html), [
    { name: 'ac-discovery', prefix: 'example.com/app', uri: 'https://example.com/{name}-{version}.{ext}' },
    { name: 'ac-discovery-pubkeys', prefix: 'example.com', uri: 'https://example.com/key.gpg' },
    { name: 'ac-discovery', prefix: 'example.com/b', uri: 'https://example.com/b.{ext}' },
  ]);
});

test('attributes: quoted, unquoted, entities, first of duplicates wins', () => {
  const a = parseAttributes(` name=ac-discovery content="a.com/x https://a.com/?a=1&amp;b=2" name="dup" flag`);
  assert.equal(a.get('name'), 'ac-discovery');
  assert.equal(a.get('content'), 'a.com/x https://a.com/?a=1&b=2');
  assert.equal(a.get('flag'), '');
});

test('templates: name, labels, version defaulting to latest, ext; leftovers skip the template', () => {
  const labels = new Map([
    ['os', 'linux'],
    ['arch', 'amd64'],
  ]);
  const t = 'https://h/{name}-{version}-{os}-{arch}.{ext}';
  assert.equal(renderTemplate(t, 'example.com/app', labels, 'aci'), 'https://h/example.com/app-latest-linux-amd64.aci');
  assert.equal(renderTemplate(t, 'example.com/app', new Map([...labels, ['version', '1.2']]), 'aci.asc'), 'https://h/example.com/app-1.2-linux-amd64.aci.asc');
  assert.equal(renderTemplate('https://h/{name}-{flavor}.{ext}', 'a', labels, 'aci'), undefined);
  assert.equal(renderTemplate('https://h/{name}-{flavor}.{ext}', 'a', new Map([['flavor', 'x']]), 'aci'), 'https://h/a-x.aci');
  assert.equal(renderTemplate('https://h/{name}/{name}.{ext}', 'a', new Map(), 'aci'), 'https://h/a/a.aci');
});

test('the walk up the name', () => {
  assert.deepEqual(namePrefixes('example.com/project/sub'), ['example.com/project/sub', 'example.com/project', 'example.com']);
  assert.deepEqual(namePrefixes('localhost'), ['localhost']);
});
