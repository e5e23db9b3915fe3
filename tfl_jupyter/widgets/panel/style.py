"""The panel's CSS: JupyterLab's theme variables (light and dark), fixed sizes, scoped to ``.tfl-panel``."""

from __future__ import annotations

import ipywidgets as w

# Colours come from --jp-* variables (with fallbacks for front-ends without them), so the
# panel follows the light and dark themes; tints use color-mix over transparent so they
# work on either background.
CSS = """
.tfl-panel { --tfl-border: var(--jp-border-color2, #d0d0d0); --tfl-muted: var(--jp-ui-font-color2, #666);
  --tfl-bad: var(--jp-error-color1, #d32f2f); --tfl-warn: var(--jp-warn-color1, #f57c00);
  --tfl-ok: var(--jp-success-color1, #388e3c); --tfl-info: var(--jp-brand-color1, #1976d2);
  color: var(--jp-ui-font-color1, #222); background: var(--jp-layout-color0, transparent);
  border: 1px solid var(--tfl-border); border-radius: 4px; padding: 6px 8px; box-sizing: border-box;
  min-width: 0; font-size: var(--jp-ui-font-size1, 13px); }
.tfl-panel .tfl-header { border-bottom: 1px solid var(--tfl-border); margin-bottom: 4px; }
.tfl-panel .tfl-title { font-weight: 600; font-size: 1.1em; }
.tfl-panel .tfl-row { min-height: 30px; }
.tfl-panel .tfl-row.tfl-conflict { box-shadow: inset 3px 0 0 var(--tfl-bad);
  background: color-mix(in srgb, var(--tfl-bad) 10%, transparent); }
.tfl-panel .tfl-info, .tfl-panel .tfl-info .widget-html-content { color: var(--tfl-muted); font-size: 0.92em;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tfl-panel .widget-html-content { line-height: 1.35; }
.tfl-panel .tfl-msg { padding: 3px 8px; border-radius: 3px; margin: 1px 0; border-left: 3px solid var(--tfl-info);
  background: color-mix(in srgb, var(--tfl-info) 9%, transparent); white-space: normal; }
.tfl-panel .tfl-msg-ok { border-left-color: var(--tfl-ok); background: color-mix(in srgb, var(--tfl-ok) 9%, transparent); }
.tfl-panel .tfl-msg-warn { border-left-color: var(--tfl-warn); background: color-mix(in srgb, var(--tfl-warn) 11%, transparent); }
.tfl-panel .tfl-msg-error { border-left-color: var(--tfl-bad); background: color-mix(in srgb, var(--tfl-bad) 11%, transparent); }
.tfl-panel .tfl-actions .widget-html-content { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tfl-panel .tfl-status-busy { color: var(--tfl-info); }
.tfl-panel .tfl-status-ok { color: var(--tfl-ok); }
.tfl-panel .tfl-status-warn { color: var(--tfl-warn); }
.tfl-panel .tfl-status-error { color: var(--tfl-bad); }
.tfl-panel .tfl-indeterminate .progress-bar { background-image: linear-gradient(45deg,
  rgba(255,255,255,.3) 25%, transparent 25%, transparent 50%, rgba(255,255,255,.3) 50%,
  rgba(255,255,255,.3) 75%, transparent 75%, transparent); background-size: 24px 24px;
  animation: tfl-stripes 1s linear infinite; }
@keyframes tfl-stripes { from { background-position: 24px 0; } to { background-position: 0 0; } }
.tfl-panel .tfl-tabs > .lm-TabBar .lm-TabBar-tab { flex: 0 1 auto; min-width: 0; padding: 0 12px; }
.tfl-panel .tfl-page { padding: 6px 2px; box-sizing: border-box; }
.tfl-panel table.tfl-table { border-collapse: collapse; margin: 4px 0; font-size: 0.92em; width: max-content;
  max-width: 100%; }
.tfl-panel table.tfl-table th { text-align: left; position: sticky; top: 0;
  background: var(--jp-layout-color1, #fafafa); border-bottom: 1px solid var(--tfl-border); padding: 2px 8px; }
.tfl-panel table.tfl-table td { text-align: left; vertical-align: top; padding: 2px 8px;
  border-bottom: 1px solid var(--jp-border-color3, #eee); max-width: 38em; overflow-wrap: anywhere; }
.tfl-panel tr.tfl-bad td { background: color-mix(in srgb, var(--tfl-bad) 14%, transparent); }
.tfl-panel tr.tfl-warn td { background: color-mix(in srgb, var(--tfl-warn) 12%, transparent); }
.tfl-panel .tfl-layer-row.tfl-warn { background: color-mix(in srgb, var(--tfl-warn) 12%, transparent); }
.tfl-panel .tfl-facts > div { margin: 1px 0; }
.tfl-panel .tfl-key { display: inline-block; min-width: 9em; color: var(--tfl-muted); }
.tfl-panel .tfl-notes { margin: 4px 0; padding-left: 1.4em; color: var(--tfl-muted); }
.tfl-panel .tfl-code-box { width: 100%; }
.tfl-panel .tfl-code-bar { display: flex; justify-content: space-between; align-items: center; margin-bottom: 4px;
  color: var(--tfl-muted); }
.tfl-panel .tfl-code-box pre { font-family: var(--jp-code-font-family, monospace);
  font-size: var(--jp-code-font-size, 13px); background: var(--jp-cell-editor-background, #f7f7f7);
  color: var(--jp-content-font-color1, #222); border: 1px solid var(--tfl-border); border-radius: 3px;
  padding: 8px; margin: 0; white-space: pre; overflow: auto; max-height: 400px; }
.tfl-panel .tfl-copy { padding: 0 1em; }
.tfl-panel .tfl-layer-cells .widget-html-content, .tfl-panel .tfl-layer-head { display: grid;
  grid-template-columns: 2em 10em minmax(8em, 1fr) 6em 7em; gap: 0 8px; align-items: center; }
.tfl-panel .tfl-layer-cells .widget-html-content { grid-template-columns: 10em minmax(8em, 1fr) 6em 7em; }
.tfl-panel .tfl-layer-cells span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tfl-panel .tfl-layer-head { font-weight: 600; border-bottom: 1px solid var(--tfl-border); margin-top: 4px; }
.tfl-panel .tfl-history { border-top: 1px solid var(--tfl-border); margin-top: 6px; padding-top: 4px; }
.tfl-panel .tfl-closed { color: var(--tfl-muted); }
"""


def style_widget() -> w.HTML:
    """An invisible HTML widget that carries the CSS (the HTML widget keeps a ``<style>`` as it is)."""
    style = w.HTML(f"<style>{CSS}</style>", layout=w.Layout(height="0px", margin="0", overflow="hidden"))
    style.add_class("tfl-style")
    return style
