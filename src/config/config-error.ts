/** A setting that cannot work; the message names the variable or flag and what to change. */
export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Several settings that cannot work, reported together so a user fixes them in
 * one go. The message lists each one's own message, one per line.
 */
export class ConfigErrors extends ConfigError {
  constructor(readonly errors: readonly ConfigError[]) {
    super(errors.map((e) => e.setting).join(', '), [
      `${errors.length} settings need changing:`,
      ...errors.map((e) => `  ${e.message}`),
    ].join('\n'));
    this.name = 'ConfigErrors';
  }
}

/** The individual errors inside err: its list for ConfigErrors, itself for a single ConfigError. */
export function configErrorsOf(err: ConfigError): readonly ConfigError[] {
  return err instanceof ConfigErrors ? err.errors : [err];
}

/**
 * Collects the ConfigErrors of one reading pass, so a reader can go on past a
 * bad variable (with a fallback) and report every bad one at the end.
 */
export class ConfigIssues {
  readonly errors: ConfigError[] = [];

  /** Records a bad setting. */
  add(setting: string, message: string): void {
    this.errors.push(new ConfigError(setting, message));
  }

  /**
   * Runs read; when it throws a ConfigError (or ConfigErrors), records it and
   * returns fallback. Any other error is a bug, not a setting, and propagates.
   */
  check<T>(read: () => T, fallback: T): T {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const e of configErrorsOf(err)) {
        if (!this.errors.some((known) => known.message === e.message)) this.errors.push(e);
      }
      return fallback;
    }
  }

  /** Throws what was collected: the error itself when there is one, ConfigErrors when there are several. */
  throwIfAny(): void {
    const [first, ...rest] = this.errors;
    if (first === undefined) return;
    throw rest.length === 0 ? first : new ConfigErrors([...this.errors]);
  }
}

/**
 * Runs every reader, going on after one fails, and returns their results by
 * name; when any throws ConfigError(s), throws all of them together instead
 * (the single error itself, or ConfigErrors listing each in reader order).
 */
export function readEvery<T extends object>(readers: { readonly [K in keyof T]: () => T[K] }): T {
  const issues = new ConfigIssues();
  const parts: Partial<T> = {};
  for (const key of Object.keys(readers) as (keyof T)[]) {
    issues.check(() => { parts[key] = readers[key](); }, undefined);
  }
  issues.throwIfAny();
  // Every reader returned: each key has its value.
  return parts as T;
}
