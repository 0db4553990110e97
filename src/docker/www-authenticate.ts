/**
 * Parsing `WWW-Authenticate` challenges as registries send them: one challenge per header value,
 * `Bearer realm="https://auth/token",service="registry",scope="repository:x:pull"` or
 * `Basic realm="R"`.
 */

export interface Challenge {
  /** lower-cased: `bearer`, `basic` */
  scheme: string;
  /** parameter names lower-cased, quoted values unescaped */
  params: Record<string, string>;
}

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const v of values) {
    const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(v);
    if (!m) continue;
    const params: Record<string, string> = {};
    const pr = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
    let p: RegExpExecArray | null;
    while ((p = pr.exec(m[2])) !== null) {
      params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    }
    out.push({ scheme: m[1].toLowerCase(), params });
  }
  return out;
}
