/**
 * The legacy /ingest `name` parameter: `app[.type]{key=value,...}`. The
 * app is the service; a known type suffix (`.cpu`, `.alloc_space`, ...)
 * names the profile, as Pyroscope's own ingester reads it.
 */

const TYPE_SUFFIXES: Readonly<Record<string, string>> = {
  cpu: 'process_cpu', itimer: 'process_cpu', wall: 'wall',
  alloc_objects: 'memory', alloc_space: 'memory', inuse_objects: 'memory', inuse_space: 'memory',
  goroutines: 'goroutine', mutex_count: 'mutex', mutex_duration: 'mutex', block_count: 'block', block_duration: 'block',
};

/** Series labels of a name: service_name, `__name__` when the suffix names a type, and the tags. */
export function parseIngestName(name: string): { name: string; value: string }[] {
  const brace = name.indexOf('{');
  let app = (brace < 0 ? name : name.slice(0, brace)).trim();
  const tags = brace < 0 ? '' : name.slice(brace + 1, name.lastIndexOf('}') > brace ? name.lastIndexOf('}') : undefined);
  const labels: { name: string; value: string }[] = [];
  const dot = app.lastIndexOf('.');
  const type = dot > 0 ? TYPE_SUFFIXES[app.slice(dot + 1)] : undefined;
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
