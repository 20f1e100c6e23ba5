/** Stylesheet of the HTML flame graph, inlined so the file works offline. */
export const FLAME_VIEWER_CSS = `
*{box-sizing:border-box}
body{margin:0;font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;background:#fafafa}
header{padding:10px 14px 6px;border-bottom:1px solid #ddd;background:#fff}
h1{margin:0;font-size:17px;font-weight:600}
.sub{margin:2px 0 8px;color:#666;font-size:12px}
.controls{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center}
.controls input[type=search]{width:260px;padding:3px 6px}
.controls select,.controls button{padding:2px 6px}
.controls input.bad{outline:2px solid #d33}
#matched{font-weight:600;color:#a000a0}
#legend{margin-top:6px;display:flex;flex-wrap:wrap;gap:10px;font-size:12px;color:#444}
.swatch{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px;border:1px solid rgba(0,0,0,.2)}
main{padding:8px 14px}
#chart{position:relative;width:100%;min-height:18px;overflow:hidden}
.frame{position:absolute;height:17px;padding:0 3px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;
  font:11.5px/17px Menlo,Consolas,"DejaVu Sans Mono",monospace;color:#111;border-right:1px solid #fafafa;cursor:pointer}
.frame:hover{filter:brightness(1.12);outline:1px solid #333;z-index:1}
.frame.dim{opacity:.55}
.frame.match{background:#e600e6 !important;color:#fff}
.empty{padding:30px;color:#666}
#details{position:sticky;bottom:0;padding:5px 14px;border-top:1px solid #ddd;background:#fff;font-size:12px;
  white-space:nowrap;overflow:hidden;text-overflow:ellipsis;min-height:26px}
#tooltip{position:fixed;z-index:10;max-width:560px;padding:6px 8px;background:rgba(30,30,30,.93);color:#fff;
  font-size:12px;border-radius:4px;pointer-events:none;word-break:break-all}
#tooltip b{display:block;font-family:Menlo,Consolas,"DejaVu Sans Mono",monospace;font-weight:600;margin-bottom:2px}
`;
