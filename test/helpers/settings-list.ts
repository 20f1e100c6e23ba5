/** The message that lists every bad setting: "N settings need changing:" and one indented line per setting. */
export function settingsList(...lines: string[]): string {
  return [`${lines.length} settings need changing:`, ...lines.map((l) => `  ${l}`)].join('\n');
}
