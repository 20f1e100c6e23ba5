/**
 * `meshprof agent --config meshprof.yaml`: the same settings as the
 * environment, as a YAML mapping whose keys are the variable names. A set
 * (non-blank) environment variable wins over the file. Lists may be written
 * as YAML sequences (MESHPROF_PROFILES: [oncpu, offcpu]) and key=value
 * settings as mappings (OTEL_RESOURCE_ATTRIBUTES: {deployment.environment: prod}).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError, ConfigIssues } from './config-error.js';
import { envValue, type EnvRecord } from './env-values.js';
import { closestKnownVariable, KNOWN_VARIABLES } from './known-variables.js';

type Scalar = string | number | boolean;

function isScalar(x: unknown): x is Scalar {
  return typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
}

/** A YAML value as the environment would spell it; throws a message when it has no such spelling. */
function asEnvValue(value: unknown): string {
  if (isScalar(value)) return String(value);
  if (Array.isArray(value) && value.every(isScalar)) return value.map(String).join(',');
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every(isScalar)) {
    return Object.entries(value as Record<string, Scalar>).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join(',');
  }
  throw new Error('use a string, a number, a boolean, a list of them or a mapping of key: value');
}

/** Parses a config file's text; `file` names it in errors. Throws ConfigError(s), each naming the file and key. */
export function parseConfigFile(file: string, text: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError('--config', `--config ${file}: not YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('--config', `--config ${file}: not a mapping: write one setting per line, e.g. MESHPROF_INTERVAL: 15s`);
  }
  const issues = new ConfigIssues();
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (!KNOWN_VARIABLES.has(key)) {
      const closest = closestKnownVariable(key);
      issues.add(key, `--config ${file}: ${key}: unknown${closest === undefined ? ': meshprof agent --help lists the keys' : `; did you mean ${closest}?`}`);
      continue;
    }
    if (value === null) continue;
    try {
      out[key] = asEnvValue(value);
    } catch (err) {
      issues.add(key, `--config ${file}: ${key}: ${(err as Error).message}`);
    }
  }
  issues.throwIfAny();
  return out;
}

/** Reads and parses a config file; a file that cannot be read is a ConfigError naming it. */
export function readConfigFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `--config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseConfigFile(file, text);
}

/** The environment the agent reads: the file's settings under every variable that env leaves unset or blank. */
export function withConfigFile(env: EnvRecord, fromFile: Readonly<Record<string, string>>): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...env };
  for (const [key, value] of Object.entries(fromFile)) {
    if (envValue(env, key) === undefined) merged[key] = value;
  }
  return merged;
}
