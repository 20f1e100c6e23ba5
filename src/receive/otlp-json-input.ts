/**
 * OTLP JSON → protobuf JSON: OTLP encodes trace, span and profile ids as
 * hex, where protobuf JSON wants base64. Everything else is protobuf JSON
 * as @bufbuild/protobuf reads it (lowerCamel or field names, enums as ints).
 */
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';

const HEX_FIELDS = new Set(['profileId', 'profile_id', 'traceId', 'trace_id', 'spanId', 'span_id']);

/** Rewrites hex id fields to base64 in place (anywhere in the tree) and returns the value. */
export function otlpJsonToProtoJson(json: JsonValue): JsonValue {
  const visit = (v: JsonValue): void => {
    if (Array.isArray(v)) {
      v.forEach(visit);
    } else if (v !== null && typeof v === 'object') {
      const o = v as JsonObject;
      for (const [k, child] of Object.entries(o)) {
        if (HEX_FIELDS.has(k) && typeof child === 'string' && /^([0-9a-fA-F]{2})*$/.test(child)) o[k] = Buffer.from(child, 'hex').toString('base64');
        else if (child !== null && typeof child === 'object') visit(child);
      }
    }
  };
  visit(json);
  return json;
}
