// tfl_jupyter front-end, built from js/ sources sha256:698644e10b2c8529e873c9d39209d89e758d27c313dd449cb9e3b65108ba2457
(() => {
  // src/netron_frame.js
  var DIALOG_CLASSES = ["notification", "alert", "message"];
  function showsDialog(classes) {
    return DIALOG_CLASSES.some((name) => classes.contains(name));
  }
  function showsGraph(classes) {
    return classes.contains("default") && !classes.contains("spinner") && !showsDialog(classes);
  }

  // src/overlay_frame.js
  function luminance(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  function textOn(hex) {
    const light = luminance(hex);
    return (light + 0.05) / 0.05 >= 1.05 / (light + 0.05) ? "#000" : "#fff";
  }
  function shownSubgraph() {
    try {
      const view = window.__view__;
      const index = view.model.modules.indexOf(view.activeTarget);
      return index >= 0 ? index : 0;
    } catch {
      return 0;
    }
  }
  function findOpNodes() {
    const elements = document.querySelectorAll("#canvas g.graph-node");
    return Array.from(elements, (element, position) => {
      const header = element.querySelector(".node-item-type");
      const title = header ? header.querySelector(":scope > title") : null;
      const text = title ? title.textContent : "";
      const index = /^\d+$/.test(text) ? Number(text) : position;
      return {
        element,
        index,
        title,
        originalTitle: text,
        items: Array.from(element.querySelectorAll(".node-item-type")),
        border: element.querySelector(":scope > path.node-border")
      };
    });
  }
  function formatValue(name, value, partitioned) {
    if (value === null || value === void 0) {
      return "";
    }
    if (name === "error") {
      return ` (rmse/scale ${value.toFixed(3)})`;
    }
    if (partitioned) {
      return value >= 0 ? ` (partition ${value + 1})` : "";
    }
    return "";
  }
  function hoverText(name, rows, row, partitioned) {
    const lines = [`${rows.op[row]} (op ${rows.index[row]})`];
    if (rows.tensor[row]) lines.push(`tensor: ${rows.tensor[row]}`);
    lines.push(`${name}: ${rows.label[row]}${formatValue(name, rows.value[row], partitioned)}`);
    if (rows.reason[row]) lines.push(rows.reason[row]);
    return lines.join("\n");
  }
  var FramePainter = class {
    constructor() {
      this.overlays = {};
      this.overlay = "";
      this.marked = [];
      this.nodes = [];
      this.subgraph = 0;
      this.selectedIndex = null;
      this.embedder = null;
      this.checkQueued = false;
      window.addEventListener("message", (event) => this.receive(event));
      const observer = new MutationObserver(() => this.queueCheck());
      observer.observe(document.body, { attributes: true, attributeFilter: ["class"] });
      observer.observe(document.getElementById("target"), { childList: true });
      this.post({ tfl: "ready" }, "*");
    }
    post(message, origin = this.embedder) {
      if (window.parent !== window && origin) {
        window.parent.postMessage(message, origin);
      }
    }
    /** The embedding page sends ``{tfl: "state", overlays?, overlay, marked}``. */
    receive(event) {
      const data = event.data;
      if (event.source !== window.parent || !data || data.tfl !== "state") {
        return;
      }
      this.embedder = event.origin;
      if (data.overlays) this.overlays = data.overlays;
      this.overlay = data.overlay || "";
      this.marked = data.marked || [];
      this.paint();
    }
    /** Netron changed its screen: once it shows a graph not painted yet, attach to it. */
    queueCheck() {
      if (this.checkQueued) return;
      this.checkQueued = true;
      requestAnimationFrame(() => {
        this.checkQueued = false;
        const first = document.querySelector("#canvas g.graph-node");
        if (showsGraph(document.body.classList) && first && first.dataset.tflIndex === void 0) {
          this.attach();
        }
      });
    }
    /** Find the nodes of a freshly drawn graph and paint them. */
    attach() {
      const started = performance.now();
      this.subgraph = shownSubgraph();
      this.nodes = findOpNodes();
      this.selectedIndex = null;
      for (const node of this.nodes) {
        node.element.addEventListener("click", () => this.choose(node), true);
        node.element.dataset.tflIndex = String(node.index);
      }
      this.paint();
      this.post({ tfl: "drawn", subgraph: this.subgraph });
      requestAnimationFrame(() => requestAnimationFrame(() => {
        document.body.dataset.tflAttachMs = (performance.now() - started).toFixed(2);
      }));
    }
    /** The shown overlay's rows of this subgraph, by op index. */
    rows() {
      const data = this.overlay ? this.overlays[this.overlay] : null;
      const byIndex = /* @__PURE__ */ new Map();
      if (data) {
        data.rows.subgraph.forEach((subgraph, row) => {
          if (subgraph === this.subgraph) byIndex.set(data.rows.index[row], row);
        });
      }
      return { byIndex, rows: data ? data.rows : null };
    }
    paint() {
      const started = performance.now();
      const name = this.overlays[this.overlay] ? this.overlay : "";
      const legend = name ? this.overlays[name].legend : null;
      const partitioned = Boolean(legend && legend.partitions);
      const { byIndex, rows } = this.rows();
      for (const node of this.nodes) {
        const row = byIndex.get(node.index);
        const color = row === void 0 ? "" : rows.color[row];
        const text = color ? textOn(color) : "";
        for (const item of node.items) {
          const path = item.querySelector("path");
          const label = item.querySelector("text");
          if (path) path.style.fill = color;
          if (label) label.style.fill = text;
        }
        node.element.dataset.tflColor = color;
        node.element.dataset.tflLabel = row === void 0 ? "" : rows.label[row];
        if (node.title) {
          node.title.textContent = row === void 0 ? node.originalTitle : hoverText(name, rows, row, partitioned);
        }
      }
      this.outline();
      document.body.dataset.tflOverlay = name;
      document.body.dataset.tflPaintMs = (performance.now() - started).toFixed(2);
    }
    /** Outline the selected node (solid) and the ops kept in float (``marked``, dashed). */
    outline() {
      const marked = new Set(this.marked.filter(([subgraph]) => subgraph === this.subgraph).map(([, index]) => index));
      for (const node of this.nodes) {
        const selected = node.index === this.selectedIndex;
        const kept = marked.has(node.index);
        node.element.dataset.tflMarked = kept ? "1" : "";
        if (node.border) {
          Object.assign(node.border.style, {
            stroke: selected ? "#cc0000" : kept ? "#5e3c99" : "",
            strokeWidth: selected || kept ? "3px" : "",
            strokeDasharray: kept && !selected ? "6 3" : ""
          });
        }
      }
    }
    /** A node was clicked: outline it and tell the embedding page. */
    choose(node) {
      this.selectedIndex = node.index;
      this.outline();
      this.post({ tfl: "selected", subgraph: this.subgraph, index: node.index });
    }
  };
  new FramePainter();
})();
