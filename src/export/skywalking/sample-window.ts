/**
 * The last samples of one watched value, newest last. Rover keeps one slot per
 * second; meshprof keeps one slot per fetch, which is one second by default.
 */
export class SampleWindow {
  private readonly values: number[] = [];

  /** @param capacity samples kept; policies with a longer Period see only these. */
  constructor(private readonly capacity = 3_600) {}

  add(value: number): void {
    this.values.push(value);
    if (this.values.length > this.capacity) this.values.shift();
  }

  /**
   * The newest sample at or above threshold when at least `count` of the last
   * `period` samples are, otherwise undefined.
   */
  match(period: number, count: number, threshold: number): number | undefined {
    const recent = this.values.slice(-period);
    const hits = recent.filter((v) => v >= threshold);
    return hits.length >= count ? hits[hits.length - 1] : undefined;
  }

  get size(): number {
    return this.values.length;
  }
}
