/**
 * The legacy /ingest `name` parameter: `app[.type]{key=value,...}`. The
 * app is the service; a known type suffix (`.cpu`, `.alloc_space`, ...)
 * names the profile, as Pyroscope's own ingester reads it.
 */
import { pyroscopeTypeName } from '../profile/pyroscope-names.js';

/** Series labels of a name: service_name, `__name__` when the suffix names a type, and the tags. */
export function parseIngestName(name: string): { name: string; value: string }[] {
  const brace = name.indexOf('{');
  let app = (brace < 0 ? name : name.slice(0, brace)).trim();
  const tags = brace < 0 ? '' : name.slice(brace + 1, name.lastIndexOf('}') > brace ? name.lastIndexOf('}') : undefined);
  const labels: { name: string; value: string }[] = [];
  const dot = app.lastIndexOf('.');
  const type = dot > 0 ? pyroscopeTypeName(app.slice(dot + 1)) : undefined;
  if (type !== undefined) {
    labels.push({ name: '__name__', value: type });
    app = app.slice(0, dot);
  }
  labels.push({ name: 'service_name', value: app });
  for (const kv of tags.split(',')) {
    const eq = kv.indexOf('=');
    if (eq > 0) labels.push({ name: kv.slice(0, eq).trim(), value: kv.slice(eq + 1).trim() });
  }
  return labels;
}
