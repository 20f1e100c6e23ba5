import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigFile, withConfigFile } from '../../src/config/config-file.js';
import { closestKnownVariable, formatVariablesHelp, KNOWN_VARIABLES, unknownVariables } from '../../src/config/known-variables.js';
import { resolveMeshprofEnv } from '../../src/config/meshprof-env.js';
import { repoRoot } from '../helpers/repo-root.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'gen' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every MESHPROF_* / ROVER_* name the code spells out, with the readers' templated prefixes expanded. */
function namesInSource(): Set<string> {
  const names = new Set<string>();
  for (const file of sources(join(repoRoot, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/['"`]((?:MESHPROF|ROVER)_[A-Z0-9_]*[A-Z0-9])['"`]/g)) names.add(m[1]!);
    for (const m of text.matchAll(/\$\{M\}([A-Z_]+)/g)) names.add(`MESHPROF_SKYWALKING_${m[1]!}`);
    for (const m of text.matchAll(/\$\{prefix\}([A-Z_]+)/g)) for (const side of ['TARGET', 'EXCLUDE']) names.add(`MESHPROF_${side}_${m[1]!}`);
  }
  return names;
}

describe('the list of known variables', () => {
  it('holds every variable the code reads', () => {
    const missing = [...namesInSource()].filter((n) => !KNOWN_VARIABLES.has(n));
    expect(missing).toEqual([]);
  });

  it('names a misspelled variable with the closest known one', () => {
    expect(unknownVariables({ MESHPROF_INTERVALL: '3s', MESHPROF_INTERVAL: '3s', PATH: '/bin', ROVER_BACKEND_ADR: 'x:1', MESHPROF_ZZZZZZZZ: '1' })).toEqual([
      'MESHPROF_INTERVALL: unknown; did you mean MESHPROF_INTERVAL?',
      'MESHPROF_ZZZZZZZZ: unknown; meshprof agent --help lists the variables it reads',
      'ROVER_BACKEND_ADR: unknown; did you mean ROVER_BACKEND_ADDR?',
    ]);
    expect(closestKnownVariable('MESHPROF_OUTPUTDIR')).toBe('MESHPROF_OUTPUT_DIR');
    expect(closestKnownVariable('MESHPROF_FREQENCY')).toBe('MESHPROF_FREQUENCY');
  });

  it('agent --help text lists each variable once, with its default', () => {
    const help = formatVariablesHelp();
    for (const name of KNOWN_VARIABLES.keys()) expect(help.split('\n').filter((l) => l.startsWith(`  ${name} [`))).toHaveLength(1);
    expect(help).toContain('  MESHPROF_INTERVAL [15s]');
    expect(help).toContain('  MESHPROF_OUTPUT_MAX_BYTES [1GiB]');
    expect(help).toContain('  MESHPROF_METRICS_ADDR [unset]');
  });
});

describe('--config files', () => {
  it('reads the same keys as the environment, lists and mappings included; the environment wins', () => {
    const file = parseConfigFile('m.yaml', [
      'MESHPROF_INTERVAL: 5s',
      'MESHPROF_FREQUENCY: 49',
      'MESHPROF_PROFILES: [oncpu, offcpu]',
      'OTEL_RESOURCE_ATTRIBUTES: {deployment.environment: prod, team: a b}',
      'MESHPROF_OUTPUT_DIR: none',
    ].join('\n'));
    expect(file).toEqual({
      MESHPROF_INTERVAL: '5s', MESHPROF_FREQUENCY: '49', MESHPROF_PROFILES: 'oncpu,offcpu',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,team=a%20b', MESHPROF_OUTPUT_DIR: 'none',
    });
    const settings = resolveMeshprofEnv(withConfigFile({ MESHPROF_FREQUENCY: '199', MESHPROF_INTERVAL: ' ' }, file));
    expect(settings.agent.frequencyHz).toBe(199);
    expect(settings.agent.intervalMs).toBe(5000);
    expect(settings.agent.profiles).toEqual(['oncpu', 'offcpu']);
    expect(settings.agent.outputDir).toBeUndefined();
    expect(settings.exporters.resource.resourceAttributes).toEqual({ 'deployment.environment': 'prod', team: 'a b' });
  });

  it('names unknown keys, bad values and bad YAML with the file', () => {
    expect(() => parseConfigFile('m.yaml', 'MESHPROF_INTERVALL: 5s\nMESHPROF_PROFILES: {a: [1]}')).toThrow([
      '2 settings need changing:',
      '  --config m.yaml: MESHPROF_INTERVALL: unknown; did you mean MESHPROF_INTERVAL?',
      '  --config m.yaml: MESHPROF_PROFILES: use a string, a number, a boolean, a list of them or a mapping of key: value',
    ].join('\n'));
    expect(() => parseConfigFile('m.yaml', 'a: [')).toThrow(/^--config m\.yaml: not YAML: /);
    expect(() => parseConfigFile('m.yaml', '- a')).toThrow('--config m.yaml: not a mapping');
    expect(parseConfigFile('m.yaml', '')).toEqual({});
  });
});
