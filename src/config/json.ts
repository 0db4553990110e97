/**
 * Reading config JSON the way Go's encoding/json fills a struct: keys match field names
 * case-insensitively (the last matching key wins), null leaves the zero value, and a value of the
 * wrong type fails with Go's "cannot unmarshal" message.
 */
export type JsonObject = Record<string, unknown>;

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  return typeof v; // string, number, boolean
}

function unmarshalError(v: unknown, struct: string, field: string, goType: string): Error {
  return new Error(`json: cannot unmarshal ${jsonType(v)} into Go struct field ${struct}.${field} of type ${goType}`);
}

export function asObject(v: unknown, goType: string): JsonObject {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`json: cannot unmarshal ${jsonType(v)} into Go value of type ${goType}`);
  }
  return v as JsonObject;
}

export function field(obj: JsonObject, name: string): unknown {
  const folded = name.toLowerCase();
  let value: unknown;
  for (const k of Object.keys(obj)) if (k === name || k.toLowerCase() === folded) value = obj[k];
  return value;
}

export function stringField(obj: JsonObject, struct: string, name: string): string {
  const v = field(obj, name);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw unmarshalError(v, struct, name, 'string');
  return v;
}

export function stringArrayField(obj: JsonObject, struct: string, name: string): string[] {
  const v = field(obj, name);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw unmarshalError(v, struct, name, '[]string');
  return v.map((e) => {
    if (e === null) return '';
    if (typeof e !== 'string') throw unmarshalError(e, struct, name, 'string');
    return e;
  });
}

export function objectField(obj: JsonObject, struct: string, name: string, goType: string): JsonObject | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw unmarshalError(v, struct, name, goType);
  return v as JsonObject;
}
