// The overlay selector and legend above the Netron frame, and the widget's side of the
// conversation with the painter inside that frame (overlay_frame.js).
//
// The kernel sends, per overlay, one row per op with its colour, label and value
// (tfl_jupyter.core.op_support.overlay). This module passes them to the painter by
// postMessage, only to the frame's own window and origin, and turns the painter's "a node
// was clicked" into the widget's ``selected``. Nothing here reads the frame's document, so
// the same code serves a same-origin viewer and the kernel's loopback fallback.

export class OverlayControls {
  /**
   * @param model the widget model (traits ``overlays``, ``overlay``, ``selected``, ``marked``)
   * @param bar the element to put the selector in
   * @param frame the iframe that shows Netron
   */
  constructor(model, bar, frame) {
    this.model = model;
    this.frame = frame;
    this.frameOrigin = null; // known once the painter in the frame said "ready"
    this.subgraph = 0;
    this.build(bar);
    this.onOverlays = () => { this.fillSelect(); this.send(true); };
    this.onOverlay = () => { this.showLegend(); this.send(false); };
    this.onMarked = () => this.send(false);
    this.onMessage = (event) => this.receive(event);
    model.on("change:overlays", this.onOverlays);
    model.on("change:overlay", this.onOverlay);
    model.on("change:marked", this.onMarked);
    window.addEventListener("message", this.onMessage);
    this.fillSelect();
  }

  build(bar) {
    this.select = document.createElement("select");
    this.select.className = "tfl-netron-overlay";
    this.select.title = "Colour the graph's nodes by";
    Object.assign(this.select.style, {
      font: "inherit", fontSize: "12px", background: "var(--jp-layout-color1, #fff)",
      color: "var(--jp-ui-font-color1, #222)", border: "1px solid var(--jp-border-color1, #bbb)",
    });
    this.select.addEventListener("change", () => {
      this.model.set("overlay", this.select.value);
      this.model.save_changes();
    });
    this.legend = document.createElement("div");
    this.legend.className = "tfl-netron-legend";
    Object.assign(this.legend.style, {
      display: "flex", flexWrap: "wrap", gap: "4px 10px", alignItems: "center",
      fontSize: "12px", color: "var(--jp-ui-font-color1, #222)", padding: "2px 0",
    });
    bar.append(this.select);
  }

  fillSelect() {
    const names = Object.keys(this.model.get("overlays") || {});
    this.select.replaceChildren(...["", ...names].map((name) => {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name ? `overlay: ${name}` : "no overlay";
      return option;
    }));
    this.select.style.display = names.length ? "" : "none";
    this.showLegend();
  }

  /** The shown overlay's name and data ({legend, rows}), or "" and null. */
  shown() {
    const name = this.model.get("overlay") || "";
    const data = name ? (this.model.get("overlays") || {})[name] : null;
    return data ? { name, data } : { name: "", data: null };
  }

  /** Tell the painter what to show; the tables travel only when they changed. */
  send(withTables) {
    const overlay = this.shown().name;
    this.select.value = overlay;
    const win = this.frame.contentWindow;
    if (!win || !this.frameOrigin) {
      return; // the painter asks once it runs
    }
    const message = { tfl: "state", overlay, marked: this.model.get("marked") || [] };
    if (withTables) {
      message.overlays = this.model.get("overlays") || {};
    }
    win.postMessage(message, this.frameOrigin);
  }

  receive(event) {
    const data = event.data;
    if (event.source !== this.frame.contentWindow || !data || typeof data.tfl !== "string") {
      return;
    }
    if (data.tfl === "ready") {
      this.frameOrigin = event.origin;
      this.subgraph = 0;
      this.showLegend();
      this.send(true);
    } else if (data.tfl === "drawn") {
      this.subgraph = Number(data.subgraph) || 0;
      this.showLegend();
    } else if (data.tfl === "selected") {
      this.selectNode(Number(data.subgraph), Number(data.index));
    }
  }

  /** A node was clicked in the graph: ``selected`` gets its op and tensor as the kernel names them. */
  selectNode(subgraph, index) {
    const selected = { subgraph, index, op: "", tensor: "" };
    for (const data of Object.values(this.model.get("overlays") || {})) {
      const columns = data.rows;
      const row = columns.index.findIndex((value, k) => value === index && columns.subgraph[k] === subgraph);
      if (row >= 0) {
        Object.assign(selected, { op: columns.op[row], tensor: columns.tensor[row] });
        break;
      }
    }
    this.model.set("selected", selected);
    this.model.save_changes();
    this.frame.dataset.tflSelected = `${subgraph}:${index}`; // sent: what tests wait for
  }

  showLegend() {
    const { data } = this.shown();
    const legend = this.legend;
    legend.replaceChildren();
    legend.style.display = data ? "flex" : "none";
    if (!data) return;
    const spec = data.legend;
    const title = document.createElement("b");
    title.textContent = spec.title;
    legend.append(title);
    if (spec.scale) legend.append(scaleBar(spec.scale));
    for (const entry of spec.entries) {
      const item = document.createElement("span");
      item.className = "tfl-legend-entry";
      const swatch = document.createElement("span");
      Object.assign(swatch.style, {
        display: "inline-block", width: "12px", height: "12px", marginRight: "3px",
        verticalAlign: "middle", border: "1px solid var(--jp-border-color1, #999)",
        background: entry.color || "transparent",
      });
      item.append(swatch, entry.label);
      legend.append(item);
    }
    if (spec.partitions) {
      const count = spec.partitions[String(this.subgraph)] || 0;
      const item = document.createElement("span");
      item.className = "tfl-legend-partitions";
      item.dataset.count = String(count);
      item.textContent = `${count} delegated partition${count === 1 ? "" : "s"} in this graph`;
      legend.append(item);
    }
  }

  dispose() {
    window.removeEventListener("message", this.onMessage);
    this.model.off("change:overlays", this.onOverlays);
    this.model.off("change:overlay", this.onOverlay);
    this.model.off("change:marked", this.onMarked);
  }
}

/** The error overlay's colour scale, with its marks (the rounding floor, "suspect"). */
function scaleBar(scale) {
  const stops = scale.stops;
  const max = stops[stops.length - 1][0];
  const box = document.createElement("span");
  box.className = "tfl-legend-scale";
  Object.assign(box.style, {
    position: "relative", display: "inline-block", width: "420px", height: "26px", marginBottom: "4px",
  });
  const bar = document.createElement("span");
  const gradient = stops.map(([x, c]) => `${c} ${(100 * x / max).toFixed(1)}%`).join(", ");
  Object.assign(bar.style, {
    position: "absolute", left: "0", right: "0", top: "0", height: "10px",
    background: `linear-gradient(to right, ${gradient})`, border: "1px solid var(--jp-border-color1, #999)",
  });
  box.append(bar);
  const ends = [[0, "0"], [max, `≥${max}`]];
  for (const [x, text] of [...ends, ...scale.marks.map(([v, what]) => [v, `${v} ${what}`])]) {
    const mark = document.createElement("span");
    mark.className = "tfl-legend-mark";
    Object.assign(mark.style, {
      position: "absolute", left: `${(100 * x / max).toFixed(1)}%`, top: "0", height: "14px",
      borderLeft: "1px solid currentColor", fontSize: "10px", lineHeight: "10px",
      paddingTop: "14px", whiteSpace: "nowrap", transform: x === max ? "translateX(-100%)" : "",
    });
    mark.textContent = text;
    box.append(mark);
  }
  return box;
}
