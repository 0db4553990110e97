/** Flag values of `rkt image list`, parsed without loading the store. */
import { RktError } from '../errors';

export const LIST_FIELDS = ['id', 'name', 'size', 'importtime', 'lastused'] as const;
export type ListField = (typeof LIST_FIELDS)[number];
export const SORT_FIELDS = ['name', 'importtime', 'lastused', 'size'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

function parseList<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const out: T[] = [];
  for (const raw of value.split(',')) {
    const v = raw.trim().toLowerCase();
    if (!(allowed as readonly string[]).includes(v)) {
      throw new RktError('EUSAGE', `invalid argument "${value}" for "--${flag}" flag: ${JSON.stringify(raw)} is not one of ${allowed.join(', ')}`);
    }
    out.push(v as T);
  }
  return out;
}

export function parseFields(value: string): ListField[] {
  return parseList('fields', value, LIST_FIELDS);
}

export function parseSort(value: string): SortField {
  const s = parseList('sort', value, SORT_FIELDS);
  return s[0];
}

