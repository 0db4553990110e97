/**
 * appc discovery meta tags (appc discovery/discovery.go extractMeta, reference §4.1): every
 * `<meta name="ac-…" content="PREFIX URI">` anywhere in the page, `content` trimmed and split at
 * its first space. A small tokenizer is enough: only start tags named `meta` and their attributes
 * matter, and comments and script/style bodies are skipped so that text in them is never mistaken
 * for a tag.
 */

export interface MetaTag {
  name: string;
  prefix: string;
  uri: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, body: string) => {
    if (body[0] === '#') {
      const cp = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[body.toLowerCase()] ?? m;
  });
}

/** Attributes of one tag's inside (`meta name="x" content='y' flag`), names lower-cased. */
export function parseAttributes(inside: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([^\s"'>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(inside))) {
    const name = m[1].toLowerCase();
    if (attrs.has(name)) continue; // HTML keeps the first of duplicated attributes
    attrs.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attrs;
}

/** All `ac-*` meta tags of an HTML page, in document order. */
export function extractMetaTags(html: string): MetaTag[] {
  const tags: MetaTag[] = [];
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt === -1) break;
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end === -1 ? html.length : end + 3;
      continue;
    }
    const m = /^<([a-zA-Z][a-zA-Z0-9-]*)/.exec(html.slice(lt, lt + 64));
    if (!m) {
      i = lt + 1;
      continue;
    }
    // the tag ends at the first '>' outside quotes
    let j = lt + m[0].length;
    let quote = '';
    for (; j < html.length; j++) {
      const c = html[j];
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '>') break;
    }
    const tagName = m[1].toLowerCase();
    const inside = html.slice(lt + m[0].length, j);
    i = j + 1;
    if (tagName === 'script' || tagName === 'style') {
      const close = html.toLowerCase().indexOf(`</${tagName}`, i);
      i = close === -1 ? html.length : close;
      continue;
    }
    if (tagName !== 'meta') continue;
    const attrs = parseAttributes(inside);
    const name = attrs.get('name') ?? '';
    if (!name.startsWith('ac-')) continue;
    const content = (attrs.get('content') ?? '').trim();
    const sp = content.indexOf(' ');
    if (sp === -1) continue;
    const prefix = content.slice(0, sp);
    const uri = content.slice(sp + 1).trim();
    if (prefix === '' || uri === '') continue;
    tags.push({ name, prefix, uri });
  }
  return tags;
}
