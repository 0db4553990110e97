/** How rkt (and gpg) show a v4 fingerprint: upper case, groups of four, a double space in the middle. */

/** `8b86de38…` → `8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190` */
export function formatFingerprint(hex: string): string {
  const groups = hex.toUpperCase().match(/.{1,4}/g) ?? [];
  if (groups.length !== 10) return groups.join(' ');
  return `${groups.slice(0, 5).join(' ')}  ${groups.slice(5).join(' ')}`;
}

/** A key file name must be the lowercase 40-hex fingerprint of the key it holds. */
export function isFingerprintName(name: string): boolean {
  return /^[0-9a-f]{40}$/.test(name);
}
