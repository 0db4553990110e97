/** `rkt image list` (rkt/image_list.go): fields, sorting, short/full forms and JSON entries. */
import type { AciInfo } from '../store/db';
import { shortKey } from '../store/keys';
import { formatTable } from '../util/tabwriter';
import { formatGoTime, humanizeTime, iBytes } from '../util/humanize';
import { goJson } from '../util/go';
import type { ListField, SortField } from './list-options';

const HEADERS: Record<ListField, string> = { id: 'ID', name: 'NAME', size: 'SIZE', importtime: 'IMPORT TIME', lastused: 'LAST USED' };


export interface ImageRow {
  key: string;
  /** name plus `:<version>` when the manifest has a version label */
  displayName: string;
  info: AciInfo;
}

export interface ListOptions {
  fields: ListField[];
  sort: SortField;
  order: 'asc' | 'desc';
  noLegend: boolean;
  full: boolean;
  format: 'tabbed' | 'json' | 'json-pretty';
}

function sortValue(r: ImageRow, f: SortField): number | string {
  switch (f) {
    case 'name':
      return r.displayName;
    case 'importtime':
      return r.info.importTime.getTime();
    case 'lastused':
      return r.info.lastUsed.getTime();
    case 'size':
      return r.info.size + r.info.treeStoreSize;
  }
}

export function sortRows(rows: ImageRow[], sort: SortField, order: 'asc' | 'desc'): ImageRow[] {
  const dir = order === 'desc' ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = sortValue(a, sort);
    const y = sortValue(b, sort);
    return (x < y ? -1 : x > y ? 1 : 0) * dir;
  });
}

const nsSinceEpoch = (d: Date): number => d.getTime() * 1e6;

export function renderImageList(rows: ImageRow[], opts: ListOptions, now = Date.now()): string {
  const sorted = sortRows(rows, opts.sort, opts.order);
  if (opts.format !== 'tabbed') {
    const entries = sorted.map((r) => ({
      id: r.key,
      name: r.displayName,
      import_time: nsSinceEpoch(r.info.importTime),
      last_used_time: nsSinceEpoch(r.info.lastUsed),
      size: r.info.size + r.info.treeStoreSize,
    }));
    return goJson(entries, opts.format === 'json-pretty') + '\n';
  }
  const cell = (r: ImageRow, f: ListField): string => {
    switch (f) {
      case 'id':
        return opts.full ? r.key : shortKey(r.key, 'list');
      case 'name':
        return r.displayName;
      case 'size': {
        const total = r.info.size + r.info.treeStoreSize;
        return opts.full ? String(total) : iBytes(total);
      }
      case 'importtime':
        return opts.full ? formatGoTime(r.info.importTime) : humanizeTime(r.info.importTime, now);
      case 'lastused':
        return opts.full ? formatGoTime(r.info.lastUsed) : humanizeTime(r.info.lastUsed, now);
    }
  };
  const table: string[][] = [];
  if (!opts.noLegend) table.push(opts.fields.map((f) => HEADERS[f]));
  for (const r of sorted) table.push(opts.fields.map((f) => cell(r, f)));
  return table.length === 0 ? '' : formatTable(table);
}
