import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
const p = Profile.decode(gunzipSync(readFileSync(process.argv[2])));
const str = (i) => p.stringTable.strings[Number(i)];
const fn = new Map(p.function.map((f) => [String(f.id), str(f.name)]));
const loc = new Map(p.location.map((l) => [String(l.id), l.line.map((ln) => fn.get(String(ln.functionId)))]));
const by = new Map();
for (const s of p.sample) {
  const labels = Object.fromEntries(s.label.map((l) => [str(l.key), l.str ? str(l.str) : String(l.num)]));
  const k = `${labels.pid ?? labels['process_id'] ?? '?'} ${labels.comm ?? labels['process.executable.name'] ?? ''}`;
  const names = s.locationId.flatMap((id) => loc.get(String(id)) ?? []);
  const v = Number(s.value[0]);
  const e = by.get(k) ?? { total: 0, rooted: 0 };
  e.total += v;
  if (names.some((n) => /^(main|ngx_worker_process_cycle|_start|start_thread|clone3?|__clone3?)$/.test(n ?? ''))) e.rooted += v;
  by.set(k, e);
}
for (const [k, e] of [...by].sort((a, b) => b[1].total - a[1].total)) console.log(k, e.total, (100 * e.rooted / e.total).toFixed(1) + '%');
