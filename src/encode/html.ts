/**
 * HTML serializer: one self-contained file with an interactive flame graph
 * (hover, zoom, search, sample-type switch) that needs no network.
 */
import type { Profile } from '../profile/model.js';
import { escapeHtml, scriptSafeJson, toFlameData, type FlameData } from './flame-data.js';
import { buildFlameTree } from './flame-tree.js';
import { FLAME_VIEWER_JS } from './flame-viewer-script.js';
import { FLAME_VIEWER_CSS } from './flame-viewer-style.js';

/** Options for {@link encodeHtml}. */
export interface HtmlOptions {
  /** Page title and heading; "meshprof flame graph" by default. */
  readonly title?: string;
}

/** Id of the <script type="application/json"> element holding the tree. */
export const FLAME_DATA_ELEMENT_ID = 'flame-data';

/** Encodes a profile as a standalone HTML flame graph (root at the bottom). */
export function encodeHtml(profile: Profile, options: HtmlOptions = {}): string {
  const data = toFlameData(buildFlameTree(profile), profile.sampleTypes);
  return renderFlamePage(options.title ?? 'meshprof flame graph', data,
    'Flame graph, root at the bottom: each bar is a function, its width the inclusive value, callers below callees. Hover for details, click to zoom.' +
    describeWindow(profile));
}

/** The page around a flame graph's data: `title` and `note` are plain text (escaped here). */
export function renderFlamePage(titleText: string, flameData: FlameData, note: string): string {
  const title = escapeHtml(titleText);
  const data = scriptSafeJson(flameData);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${FLAME_VIEWER_CSS}</style>
</head>
<body>
<header>
<h1>${title}</h1>
<p class="sub">${escapeHtml(note)}</p>
<div class="controls">
<label id="type-field">Value <select id="type"></select></label>
<input id="search" type="search" placeholder="Search functions" aria-label="search functions">
<label><input id="regex" type="checkbox"> regex</label>
<button id="reset" type="button">Reset zoom</button>
<span id="matched"></span>
</div>
<div id="legend"></div>
</header>
<main><div id="chart" role="img" aria-label="flame graph"></div></main>
<div id="details"></div>
<div id="tooltip" hidden></div>
<script type="application/json" id="${FLAME_DATA_ELEMENT_ID}">${data}</script>
<script>${FLAME_VIEWER_JS}</script>
</body>
</html>
`;
}

/** " Window: <start ISO>, 10.00 s." — or nothing when the start is unknown. */
function describeWindow(profile: Profile): string {
  if (profile.startTimeNs <= 0n) return '';
  const start = new Date(Number(profile.startTimeNs / 1_000_000n)).toISOString();
  const seconds = (Number(profile.durationNs) / 1e9).toFixed(2);
  return ` Window: ${start}, ${seconds} s.`;
}
