import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tabwrite, formatTable, TabWriter } from '../../src/util/tabwriter';

// Expected outputs are computed by hand with Go's rule (minwidth 0, tabwidth 8, padding 1, padchar
// '\t'): cellw = max text width in the column block + 1, rounded up to a multiple of 8; a cell of
// width w is followed by ceil((cellw - w) / 8) tabs; the last cell of a line is not padded.

test('column widths round up to tab stops (8- and 7-wide cells)', () => {
  // column 0: widest "12345678" (8) → 9 → 16; column 1: widest 16 → 17 → 24
  const out = tabwrite('ID\tNAME\tSIZE\n12345678\tab\tc\n1234567\tabcdefghijklmnop\tc\n');
  assert.equal(out, 'ID\t\tNAME\t\t\tSIZE\n12345678\tab\t\t\tc\n1234567\t\tabcdefghijklmnop\tc\n');
});

test('a column whose widest cell is 7 wide fits one tab stop', () => {
  assert.equal(tabwrite('1234567\tx\nabc\ty\n'), '1234567\tx\nabc\ty\n');
});

test('a column whose widest cell is exactly 8 wide needs two tab stops', () => {
  assert.equal(tabwrite('12345678\tx\nabc\ty\n'), '12345678\tx\nabc\t\ty\n');
});

test('continuation rows end a column block (rkt list with several apps)', () => {
  const input =
    'UUID\tAPP\tSTATE\n' + '5bc080ca\tredis\trunning\n' + '\tetcd\n' + '3089337c\tnginx-long-name\texited\n';
  // column 0 spans all lines (16); column 1 is two blocks: {APP, redis} → 8, {nginx-long-name} → 16
  const expected =
    'UUID\t\tAPP\tSTATE\n' + '5bc080ca\tredis\trunning\n' + '\t\tetcd\n' + '3089337c\tnginx-long-name\texited\n';
  assert.equal(tabwrite(input), expected);
});

test('empty cells, code points and a last line without newline', () => {
  assert.equal(tabwrite('\tx\n\ty\n'), '\tx\n\ty\n'); // empty column: width 1 → one tab
  assert.equal(tabwrite('héllo\tx\nab\ty'), 'héllo\tx\nab\ty'); // 5 code points → 6 → 8
  assert.equal(tabwrite('no tabs here\n'), 'no tabs here\n');
  assert.equal(tabwrite(''), '');
});

test('a line without tabs separates blocks', () => {
  // the two "tables" are sized independently
  assert.equal(tabwrite('a\tb\n--\nabcdefghij\tc\n'), 'a\tb\n--\nabcdefghij\tc\n');
  assert.equal(tabwrite('a\tb\nabcdefghij\tc\n'), 'a\t\tb\nabcdefghij\tc\n');
});

test('formatTable and TabWriter produce the same text', () => {
  const rows = [
    ['ID', 'NAME'],
    ['sha512-91e98d7f1679', 'coreos.com/etcd:v2.0.9'],
  ];
  const expected = 'ID\t\t\tNAME\nsha512-91e98d7f1679\tcoreos.com/etcd:v2.0.9\n';
  assert.equal(formatTable(rows), expected);
  const w = new TabWriter();
  w.write('ID\tNAME\n').write('sha512-91e98d7f1679\tcoreos.com/etcd:v2.0.9\n');
  assert.equal(w.flush(), expected);
  assert.equal(w.flush(), '');
});
