/**
 * appc discovery templates (discovery/discovery.go renderTemplate, reference §4.1): `{name}` and
 * one `{label}` per label (`{version}` defaulting to `latest`, `{os}`, `{arch}`, any other), then
 * `{ext}`; a template with a `{…}` left over does not apply to this image and is skipped.
 */

/** The rendered URL, or undefined when some `{…}` could not be filled. */
export function renderTemplate(template: string, name: string, labels: ReadonlyMap<string, string>, ext: string): string | undefined {
  let out = template.split('{name}').join(name);
  const withVersion = new Map(labels);
  if ((withVersion.get('version') ?? '') === '') withVersion.set('version', 'latest');
  for (const [k, v] of withVersion) out = out.split(`{${k}}`).join(v);
  out = out.split('{ext}').join(ext);
  return /\{[^}]*\}/.test(out) ? undefined : out;
}

/** The name and its parents, longest first: `a.com/b/c` → `a.com/b/c`, `a.com/b`, `a.com`. */
export function namePrefixes(name: string): string[] {
  const parts = name.split('/');
  const out: string[] = [];
  for (let n = parts.length; n >= 1; n--) out.push(parts.slice(0, n).join('/'));
  return out;
}
