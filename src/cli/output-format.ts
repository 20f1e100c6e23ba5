/** File formats `meshprof record` can write. */
export type OutputFormat = 'pprof' | 'folded' | 'html' | 'otlp' | 'otlp-json';

export const outputFormats: readonly OutputFormat[] = ['pprof', 'folded', 'html', 'otlp', 'otlp-json'];

/** The format a file name implies, or undefined when its ending says nothing. */
export function formatFromFileName(file: string): OutputFormat | undefined {
  const f = file.toLowerCase();
  if (f.endsWith('.otlp.json')) return 'otlp-json';
  if (f.endsWith('.otlp.pb')) return 'otlp';
  if (f.endsWith('.pb.gz') || f.endsWith('.pprof') || f.endsWith('.pb')) return 'pprof';
  if (f.endsWith('.folded') || f.endsWith('.txt')) return 'folded';
  if (f.endsWith('.html') || f.endsWith('.htm')) return 'html';
  return undefined;
}
