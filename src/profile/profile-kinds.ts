/**
 * The kinds of profile meshprof can take. Kept apart from the sampler
 * registry (sampler-kinds.ts) so that reading settings and printing
 * `--help` do not load the samplers; the registry must cover every kind
 * here (the compiler checks).
 */
export const PROFILE_KINDS = ['oncpu', 'offcpu', 'memory', 'page-faults'] as const;

/** One of PROFILE_KINDS. */
export type ProfileKind = (typeof PROFILE_KINDS)[number];

/** Kinds that yield metrics rather than stacks (`record --type`, MESHPROF_PROFILES). */
export const METRIC_KINDS = ['network'] as const;

/** What `meshprof record --type` accepts. */
export const RECORD_KINDS = [...PROFILE_KINDS, ...METRIC_KINDS] as const;

/** One of RECORD_KINDS. */
export type RecordKind = (typeof RECORD_KINDS)[number];
