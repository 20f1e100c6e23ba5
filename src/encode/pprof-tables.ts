/**
 * Interning tables for the pprof encoder: every distinct mapping, function
 * and location gets one entry with an id from 1, as profile.proto requires
 * (id 0 means "none").
 */
import { Function as PprofFunction, Line, Location, Mapping as PprofMapping, StringTable } from 'pprof-format';
import type { Frame, Mapping } from '../profile/model.js';

/** Path pprof tools recognise as the kernel image. */
export const KERNEL_MAPPING_FILE = '[kernel.kallsyms]';

/** Mutable builder for the mapping/function/location tables of one profile. */
export class PprofTables {
  readonly mappings: PprofMapping[] = [];
  readonly functions: PprofFunction[] = [];
  readonly locations: Location[] = [];
  readonly #mappingIds = new Map<string, number>();
  readonly #functionIds = new Map<string, number>();
  readonly #locationIds = new Map<string, number>();
  // The symbolizer makes each distinct frame of a batch once and shares it between
  // samples: by identity, most lookups skip building a key (BigInt to string, concatenation).
  readonly #frameLocations = new Map<Frame, number>();
  readonly #mappingObjects = new Map<Mapping, number>();

  /**
   * @param strings the profile's string table.
   * @param kernelMapping stands in for kernel frames that carry no mapping of
   *   their own, so every kernel location still names `[kernel.kallsyms]`.
   */
  constructor(
    private readonly strings: StringTable,
    private readonly kernelMapping: Mapping | undefined,
  ) {}

  /**
   * Registers the frame's mapping without a location, so callers can fix the
   * mapping order: pprof tools take mapping 1 for the main binary.
   */
  mappingIdOf(frame: Frame): number {
    const mapping = frame.mapping ?? (frame.kind === 'kernel' ? this.kernelMapping : undefined);
    return mapping === undefined ? 0 : this.#mappingId(mapping, frame);
  }

  /** Location id for a frame, creating the location (and its mapping and function) once. */
  locationId(frame: Frame): number {
    const same = this.#frameLocations.get(frame);
    if (same !== undefined) return same;
    const id = this.#locationIdByKey(frame);
    this.#frameLocations.set(frame, id);
    return id;
  }

  #locationIdByKey(frame: Frame): number {
    const mappingId = this.mappingIdOf(frame);
    // Unsymbolized frames get no Line: the address, mapping and build id let
    // a backend (or `go tool pprof` with the binary) symbolize them later.
    const functionId = frame.symbolized ? this.#functionId(frame) : 0;
    const line = frame.line ?? 0;
    const key = `${mappingId}\u0000${frame.address}\u0000${functionId}\u0000${line}`;
    const known = this.#locationIds.get(key);
    if (known !== undefined) return known;
    const id = this.locations.length + 1;
    this.locations.push(
      new Location({
        id,
        mappingId,
        address: frame.address,
        line: functionId === 0 ? [] : [new Line({ functionId, line })],
      }),
    );
    this.#locationIds.set(key, id);
    return id;
  }

  #mappingId(mapping: Mapping, frame: Frame): number {
    let id = this.#mappingObjects.get(mapping);
    if (id === undefined) {
      id = this.#mappingIds.get(`${mapping.file}\u0000${mapping.start}`);
      if (id !== undefined) this.#mappingObjects.set(mapping, id);
    }
    let entry = id === undefined ? undefined : this.mappings[id - 1];
    if (id === undefined || entry === undefined) {
      id = this.mappings.length + 1;
      entry = new PprofMapping({
        id,
        memoryStart: mapping.start,
        memoryLimit: mapping.limit,
        fileOffset: mapping.fileOffset,
        filename: this.strings.dedup(mapping.file),
        buildId: this.strings.dedup(mapping.buildId ?? ''),
      });
      this.mappings.push(entry);
      this.#mappingIds.set(`${mapping.file}\u0000${mapping.start}`, id);
      this.#mappingObjects.set(mapping, id);
    }
    // The has_* flags tell pprof tools not to re-symbolize what we resolved.
    if (frame.symbolized) entry.hasFunctions = true;
    if (frame.symbolized && frame.fileName !== undefined) entry.hasFilenames = true;
    if (frame.symbolized && frame.line !== undefined) entry.hasLineNumbers = true;
    return id;
  }

  #functionId(frame: Frame): number {
    const systemName = frame.systemName ?? frame.functionName;
    const fileName = frame.fileName ?? '';
    const key = `${frame.functionName}\u0000${systemName}\u0000${fileName}`;
    const known = this.#functionIds.get(key);
    if (known !== undefined) return known;
    const id = this.functions.length + 1;
    this.functions.push(
      new PprofFunction({
        id,
        name: this.strings.dedup(frame.functionName),
        systemName: this.strings.dedup(systemName),
        filename: this.strings.dedup(fileName),
      }),
    );
    this.#functionIds.set(key, id);
    return id;
  }
}
