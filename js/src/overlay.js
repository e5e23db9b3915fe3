// Painting an overlay (tfl_jupyter.core.op_support.overlay) on Netron's rendered SVG graph.
//
// The kernel sends, per overlay, one row per op with its colour, label and value; this
// module finds each op's node in the same-origin Netron frame, colours its header and puts
// the value in the node's tooltip. Switching overlays only restyles the nodes found once
// per render: the graph is never drawn again. A legend and a selector sit above the frame.

/** WCAG relative luminance of "#rrggbb". */
function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Black or white, whichever contrasts more with the fill ``hex``. */
function textOn(hex) {
  const light = luminance(hex);
  return (light + 0.05) / 0.05 >= 1.05 / (light + 0.05) ? "#000" : "#fff";
}

/** The subgraph Netron shows (its index in the model), 0 when it cannot tell. */
function shownSubgraph(win) {
  try {
    const view = win.__view__;
    const index = view.model.modules.indexOf(view.activeTarget);
    return index >= 0 ? index : 0;
  } catch {
    return 0;
  }
}

/**
 * The op nodes Netron drew, with their op index: the identifier Netron puts in the title
 * of each node's header ("0", "1", ...), or the node's position (Netron draws the ops of a
 * subgraph in order) where a long op name replaced that title.
 */
export function findOpNodes(doc) {
  const elements = doc.querySelectorAll("#canvas g.graph-node");
  return Array.from(elements, (element, position) => {
    const header = element.querySelector(".node-item-type");
    const title = header ? header.querySelector(":scope > title") : null;
    const text = title ? title.textContent : "";
    const index = /^\d+$/.test(text) ? Number(text) : position;
    return {
      element, index, title, originalTitle: text,
      items: Array.from(element.querySelectorAll(".node-item-type")),
      border: element.querySelector(":scope > path.node-border"),
    };
  });
}

function formatValue(name, value) {
  if (value === null || value === undefined) {
    return "";
  }
  if (name === "error") {
    return ` (rmse/scale ${value.toFixed(3)})`;
  }
  if (name === "gpu" || name === "xnnpack") {
    return value >= 0 ? ` (partition ${value + 1})` : "";
  }
  return "";
}

export class OverlayPainter {
  /**
   * @param model the widget model (traits ``overlays``, ``overlay``, ``selected``)
   * @param bar the element to put the selector and legend in
   */
  constructor(model, bar) {
    this.model = model;
    this.nodes = [];
    this.doc = null;
    this.subgraph = 0;
    this.selectedIndex = null;
    this.disabled = false;
    this.build(bar);
    this.onOverlays = () => { this.fillSelect(); this.paint(); };
    this.onOverlay = () => this.paint();
    this.onMarked = () => this.outline();
    model.on("change:overlays", this.onOverlays);
    model.on("change:overlay", this.onOverlay);
    model.on("change:marked", this.onMarked);
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
    const overlays = this.model.get("overlays") || {};
    const names = Object.keys(overlays);
    this.select.replaceChildren(...["", ...names].map((name) => {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name ? `overlay: ${name}` : "no overlay";
      return option;
    }));
    this.select.style.display = names.length && !this.disabled ? "" : "none";
    this.select.value = this.model.get("overlay") || "";
  }

  /** The graph is in a frame of another origin (the loopback fallback): nothing to paint. */
  unavailable() {
    this.select.style.display = "none";
    this.legend.style.display = "none";
    this.disabled = true;
  }

  /** Find the nodes of a freshly drawn graph in ``frame`` and paint them. */
  attach(frame) {
    this.doc = frame.contentDocument;
    this.subgraph = shownSubgraph(frame.contentWindow);
    this.nodes = findOpNodes(this.doc);
    for (const node of this.nodes) {
      if (node.element.dataset.tflIndex === undefined) {
        // Capture: Netron stops the click on a node's header from bubbling.
        node.element.addEventListener("click", () => this.choose(node), true);
      }
      node.element.dataset.tflIndex = String(node.index);
    }
    this.paint();
  }

  rows() {
    const name = this.model.get("overlay");
    const data = name ? (this.model.get("overlays") || {})[name] : null;
    if (!data) {
      return { name: "", byIndex: new Map(), data: null };
    }
    const columns = data.rows;
    const byIndex = new Map();
    columns.subgraph.forEach((subgraph, row) => {
      if (subgraph === this.subgraph) {
        byIndex.set(columns.index[row], row);
      }
    });
    return { name, byIndex, data };
  }

  paint() {
    const started = performance.now();
    const { name, byIndex, data } = this.rows();
    this.select.value = name;
    for (const node of this.nodes) {
      const row = byIndex.get(node.index);
      const color = row === undefined ? "" : data.rows.color[row];
      const text = color ? textOn(color) : "";
      for (const item of node.items) {
        const path = item.querySelector("path");
        const label = item.querySelector("text");
        if (path) path.style.fill = color;
        if (label) label.style.fill = text;
      }
      node.element.dataset.tflColor = color;
      node.element.dataset.tflLabel = row === undefined ? "" : data.rows.label[row];
      if (node.title) {
        node.title.textContent = row === undefined ? node.originalTitle : this.hoverText(name, data.rows, row);
      }
    }
    this.outline();
    this.showLegend(this.disabled ? "" : name, this.disabled ? null : data);
    this.lastPaintMs = performance.now() - started;
    if (this.doc && this.doc.body) {
      this.doc.body.dataset.tflOverlay = name;
      this.doc.body.dataset.tflPaintMs = this.lastPaintMs.toFixed(2);
    }
  }

  hoverText(name, rows, row) {
    const lines = [`${rows.op[row]} (op ${rows.index[row]})`];
    if (rows.tensor[row]) lines.push(`tensor: ${rows.tensor[row]}`);
    lines.push(`${name}: ${rows.label[row]}${formatValue(name, rows.value[row])}`);
    if (rows.reason[row]) lines.push(rows.reason[row]);
    return lines.join("\n");
  }

  showLegend(name, data) {
    const legend = this.legend;
    legend.replaceChildren();
    legend.style.display = data ? "flex" : "none";
    if (!data) return;
    const spec = data.legend;
    const title = document.createElement("b");
    title.textContent = spec.title;
    legend.append(title);
    if (spec.scale) legend.append(this.scaleBar(spec.scale));
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

  scaleBar(scale) {
    const stops = scale.stops;
    const max = stops[stops.length - 1][0];
    const box = document.createElement("span");
    box.className = "tfl-legend-scale";
    Object.assign(box.style, { position: "relative", display: "inline-block", width: "420px", height: "26px" });
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
    box.style.marginBottom = "4px";
    return box;
  }

  /** Outline the selected node (solid) and the ops kept in float (``marked``, dashed). */
  outline() {
    const marked = new Set((this.model.get("marked") || [])
      .filter(([subgraph]) => subgraph === this.subgraph).map(([, index]) => index));
    for (const node of this.nodes) {
      const selected = node.index === this.selectedIndex;
      const kept = marked.has(node.index);
      node.element.dataset.tflMarked = kept ? "1" : "";
      if (node.border) {
        Object.assign(node.border.style, {
          stroke: selected ? "#cc0000" : kept ? "#5e3c99" : "",
          strokeWidth: selected || kept ? "3px" : "",
          strokeDasharray: kept && !selected ? "6 3" : "",
        });
      }
    }
  }

  /** A node was clicked: tell the kernel (``selected``) and outline it. */
  choose(node) {
    this.selectedIndex = node.index;
    this.outline();
    // Op and tensor as the kernel names them, from any overlay's rows.
    const selected = { subgraph: this.subgraph, index: node.index, op: "", tensor: "" };
    for (const data of Object.values(this.model.get("overlays") || {})) {
      const columns = data.rows;
      const row = columns.index.findIndex((index, k) => index === node.index && columns.subgraph[k] === this.subgraph);
      if (row >= 0) {
        Object.assign(selected, { op: columns.op[row], tensor: columns.tensor[row] });
        break;
      }
    }
    this.model.set("selected", selected);
    this.model.save_changes();
  }

  dispose() {
    this.model.off("change:overlays", this.onOverlays);
    this.model.off("change:overlay", this.onOverlay);
    this.model.off("change:marked", this.onMarked);
  }
}
