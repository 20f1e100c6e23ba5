import { describe, expect, it } from 'vitest';
import { parseLabelSelector } from '../../src/discovery/label-selector.js';

describe('parseLabelSelector', () => {
  it('parses equality, inequality, set and existence requirements', () => {
    const s = parseLabelSelector('app=foo, tier!=db,env in (prod, staging),track notin (canary),owner,!legacy');
    expect(s.requirements).toEqual([
      { key: 'app', op: 'eq', values: ['foo'] },
      { key: 'tier', op: 'ne', values: ['db'] },
      { key: 'env', op: 'in', values: ['prod', 'staging'] },
      { key: 'track', op: 'notin', values: ['canary'] },
      { key: 'owner', op: 'exists', values: [] },
      { key: 'legacy', op: 'absent', values: [] },
    ]);
    const base = { app: 'foo', tier: 'web', env: 'prod', owner: 'team-a' };
    expect(s.matches(base)).toBe(true);
    expect(s.matches({ ...base, tier: 'db' })).toBe(false);
    expect(s.matches({ ...base, env: 'dev' })).toBe(false);
    expect(s.matches({ ...base, track: 'canary' })).toBe(false);
    expect(s.matches({ ...base, legacy: 'true' })).toBe(false);
    const { owner: _owner, ...noOwner } = base;
    expect(s.matches(noOwner)).toBe(false);
  });

  it('accepts == and prefixed keys', () => {
    const s = parseLabelSelector('app.kubernetes.io/name==cart');
    expect(s.matches({ 'app.kubernetes.io/name': 'cart' })).toBe(true);
    expect(s.matches({ 'app.kubernetes.io/name': 'web' })).toBe(false);
  });

  it('matches everything when empty', () => {
    expect(parseLabelSelector('').matches({})).toBe(true);
  });

  it('rejects malformed requirements', () => {
    expect(() => parseLabelSelector('env in ()')).toThrow(/parsing label selector "env in \(\)": empty value set/);
    expect(() => parseLabelSelector('-bad=x')).toThrow(/invalid key "-bad"/);
    expect(() => parseLabelSelector('a=b=c')).toThrow(/invalid value/);
  });
});
