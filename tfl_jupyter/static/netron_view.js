// tfl_jupyter front-end, built from js/ sources sha256:698644e10b2c8529e873c9d39209d89e758d27c313dd449cb9e3b65108ba2457
// src/focus_guard.js
var SETTLE_MS = 500;
var FocusGuard = class {
  constructor(frame) {
    this.frame = frame;
    this.loading = 0;
    this.engaged = false;
    this.outside = document.activeElement !== frame ? document.activeElement : null;
    this.onPageFocus = (event) => {
      if (event.target !== frame) {
        this.outside = event.target;
      }
    };
    this.onLoad = () => this.watchFrame();
    document.addEventListener("focusin", this.onPageFocus, true);
    frame.addEventListener("load", this.onLoad);
  }
  watchFrame() {
    const doc = this.frame.contentDocument;
    if (!doc) {
      return;
    }
    doc.addEventListener("pointerdown", () => {
      this.engaged = true;
    }, true);
    doc.addEventListener("focusin", () => {
      this.check();
      setTimeout(() => this.check(), 0);
    }, true);
  }
  /** Run `work` (a promise-returning function) with the focus guarded. */
  async during(work) {
    this.loading += 1;
    try {
      return await work();
    } finally {
      this.check();
      setTimeout(() => {
        this.loading -= 1;
      }, SETTLE_MS);
    }
  }
  check() {
    if (this.loading === 0 || this.engaged || document.activeElement !== this.frame) {
      return;
    }
    const target = this.outside;
    if (target && target.isConnected && target !== document.body) {
      target.focus({ preventScroll: true });
    } else {
      this.frame.blur();
    }
  }
  dispose() {
    document.removeEventListener("focusin", this.onPageFocus, true);
    this.frame.removeEventListener("load", this.onLoad);
  }
};

// src/netron_frame.js
var POLL_MS = 50;
var READY_TIMEOUT_MS = 6e4;
var RENDER_TIMEOUT_MS = 12e4;
var DIALOG_CLASSES = ["notification", "alert", "message"];
function bodyClasses(frame) {
  const body = frame.contentDocument && frame.contentDocument.body;
  return body ? body.classList : null;
}
function showsDialog(classes) {
  return DIALOG_CLASSES.some((name) => classes.contains(name));
}
function showsGraph(classes) {
  return classes.contains("default") && !classes.contains("spinner") && !showsDialog(classes);
}
function frameStatus(frame) {
  const doc = frame.contentDocument;
  const text = doc && doc.getElementById("message-text");
  const classes = bodyClasses(frame);
  return classes && showsDialog(classes) && text && text.innerText ? ` (viewer: ${text.innerText})` : "";
}
function poll(test, timeoutMs, what, cancelled, detail = () => "") {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (cancelled()) {
        reject(new Error("cancelled"));
      } else if (test()) {
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        reject(new Error(`the viewer did not ${what} in ${timeoutMs / 1e3} s${detail()}`));
      } else {
        setTimeout(tick, POLL_MS);
      }
    };
    tick();
  });
}
function whenViewerReady(frame, cancelled) {
  return poll(() => {
    const classes = bodyClasses(frame);
    return Boolean(frame.contentWindow && frame.contentWindow.__view__ && classes && !classes.contains("spinner") && !showsDialog(classes) && (classes.contains("welcome") || classes.contains("default")));
  }, READY_TIMEOUT_MS, "start", cancelled, () => frameStatus(frame));
}
function whenModelShown(frame, cancelled) {
  let failure = null;
  return poll(() => {
    const classes = bodyClasses(frame);
    if (classes && showsDialog(classes)) {
      failure = frameStatus(frame);
      return true;
    }
    return Boolean(classes && showsGraph(classes));
  }, RENDER_TIMEOUT_MS, "draw the graph", cancelled).then(() => {
    if (failure) {
      throw new Error(`the model did not open${failure}`);
    }
  });
}

// src/overlay_controls.js
var OverlayControls = class {
  /**
   * @param model the widget model (traits ``overlays``, ``overlay``, ``selected``, ``marked``)
   * @param bar the element to put the selector in
   * @param frame the iframe that shows Netron
   */
  constructor(model, bar, frame) {
    this.model = model;
    this.frame = frame;
    this.frameOrigin = null;
    this.subgraph = 0;
    this.build(bar);
    this.onOverlays = () => {
      this.fillSelect();
      this.send(true);
    };
    this.onOverlay = () => {
      this.showLegend();
      this.send(false);
    };
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
      font: "inherit",
      fontSize: "12px",
      background: "var(--jp-layout-color1, #fff)",
      color: "var(--jp-ui-font-color1, #222)",
      border: "1px solid var(--jp-border-color1, #bbb)"
    });
    this.select.addEventListener("change", () => {
      this.model.set("overlay", this.select.value);
      this.model.save_changes();
    });
    this.legend = document.createElement("div");
    this.legend.className = "tfl-netron-legend";
    Object.assign(this.legend.style, {
      display: "flex",
      flexWrap: "wrap",
      gap: "4px 10px",
      alignItems: "center",
      fontSize: "12px",
      color: "var(--jp-ui-font-color1, #222)",
      padding: "2px 0"
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
      return;
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
    this.frame.dataset.tflSelected = `${subgraph}:${index}`;
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
        display: "inline-block",
        width: "12px",
        height: "12px",
        marginRight: "3px",
        verticalAlign: "middle",
        border: "1px solid var(--jp-border-color1, #999)",
        background: entry.color || "transparent"
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
};
function scaleBar(scale) {
  const stops = scale.stops;
  const max = stops[stops.length - 1][0];
  const box = document.createElement("span");
  box.className = "tfl-legend-scale";
  Object.assign(box.style, {
    position: "relative",
    display: "inline-block",
    width: "420px",
    height: "26px",
    marginBottom: "4px"
  });
  const bar = document.createElement("span");
  const gradient = stops.map(([x, c]) => `${c} ${(100 * x / max).toFixed(1)}%`).join(", ");
  Object.assign(bar.style, {
    position: "absolute",
    left: "0",
    right: "0",
    top: "0",
    height: "10px",
    background: `linear-gradient(to right, ${gradient})`,
    border: "1px solid var(--jp-border-color1, #999)"
  });
  box.append(bar);
  const ends = [[0, "0"], [max, `\u2265${max}`]];
  for (const [x, text] of [...ends, ...scale.marks.map(([v, what]) => [v, `${v} ${what}`])]) {
    const mark = document.createElement("span");
    mark.className = "tfl-legend-mark";
    Object.assign(mark.style, {
      position: "absolute",
      left: `${(100 * x / max).toFixed(1)}%`,
      top: "0",
      height: "14px",
      borderLeft: "1px solid currentColor",
      fontSize: "10px",
      lineHeight: "10px",
      paddingTop: "14px",
      whiteSpace: "nowrap",
      transform: x === max ? "translateX(-100%)" : ""
    });
    mark.textContent = text;
    box.append(mark);
  }
  return box;
}

// src/netron_view.js
var PROBE_TIMEOUT_MS = 1e4;
var TALL_HEIGHT = "85vh";
function jupyterBaseUrl(doc = document) {
  const element = doc.getElementById("jupyter-config-data");
  if (!element) {
    return null;
  }
  try {
    const config = JSON.parse(element.textContent || "{}");
    return new URL(config.baseUrl || "/", doc.location.href).href;
  } catch {
    return null;
  }
}
async function isViewer(url) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      method: "HEAD",
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal
    });
    return response.ok && response.headers.get("X-TFL-Jupyter-Viewer") === "netron";
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
function dropModel(frame, bytes, filename) {
  const win = frame.contentWindow;
  const file = new win.File([bytes], filename, { type: "application/octet-stream" });
  const transfer = new win.DataTransfer();
  transfer.items.add(file);
  const event = new win.DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
  frame.contentDocument.body.dispatchEvent(event);
}
function modelBytes(model) {
  const value = model.get("model_bytes");
  if (!value) {
    return new Uint8Array(0);
  }
  if (value instanceof DataView) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return new Uint8Array(value.buffer ? value.buffer : value);
}
function button(label, title, onClick) {
  const element = document.createElement("button");
  element.textContent = label;
  element.title = title;
  element.className = "tfl-netron-button";
  Object.assign(element.style, {
    font: "inherit",
    fontSize: "12px",
    padding: "1px 8px",
    cursor: "pointer",
    border: "1px solid var(--jp-border-color1, #bbb)",
    borderRadius: "3px",
    background: "var(--jp-layout-color1, #fff)",
    color: "var(--jp-ui-font-color1, #222)"
  });
  element.addEventListener("click", onClick);
  return element;
}
var NetronViewer = class {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.disposed = false;
    this.sameOrigin = false;
    this.build();
    this.focus = new FocusGuard(this.frame);
    this.onBytes = () => this.showModel();
    this.onFallback = () => this.loadFallback();
    this.onHeight = () => {
      this.box.style.height = `${this.model.get("height")}px`;
    };
    this.onFilename = () => this.showFilename();
    this.generation = 0;
    model.on("change:model_bytes", this.onBytes);
    model.on("change:fallback_url", this.onFallback);
    model.on("change:height", this.onHeight);
    model.on("change:filename", this.onFilename);
    this.start();
  }
  build() {
    const el = this.el;
    el.classList.add("tfl-jupyter-netron");
    const bar = document.createElement("div");
    Object.assign(bar.style, {
      display: "flex",
      gap: "6px",
      alignItems: "center",
      padding: "2px 0",
      fontSize: "12px",
      color: "var(--jp-ui-font-color1, #222)"
    });
    this.title = document.createElement("span");
    this.title.className = "tfl-netron-title";
    this.title.style.fontWeight = "600";
    this.status = document.createElement("span");
    this.status.className = "tfl-netron-status";
    this.status.style.flex = "1";
    this.status.style.color = "var(--jp-ui-font-color2, #666)";
    this.tallButton = button("Taller", "Switch between the normal height and most of the window", () => this.toggleTall());
    const full = button("Full screen", "Show the graph on the whole screen (Esc to leave)", () => this.box.requestFullscreen?.());
    this.box = document.createElement("div");
    this.box.className = "tfl-netron-box";
    Object.assign(this.box.style, {
      height: `${this.model.get("height")}px`,
      minHeight: "160px",
      resize: "vertical",
      overflow: "hidden",
      border: "1px solid var(--jp-border-color2, #ddd)",
      background: "#fff"
    });
    this.frame = document.createElement("iframe");
    this.frame.className = "tfl-netron-frame";
    Object.assign(this.frame.style, { width: "100%", height: "100%", border: "0", display: "block" });
    this.box.append(this.frame);
    bar.append(this.title, this.status);
    this.overlay = new OverlayControls(this.model, bar, this.frame);
    bar.append(this.tallButton, full);
    el.append(bar, this.overlay.legend, this.box);
    this.showFilename();
  }
  showFilename() {
    const name = this.model.get("filename");
    this.title.textContent = name;
    this.frame.title = `Netron graph of ${name}`;
  }
  setStatus(text) {
    this.status.textContent = text;
  }
  toggleTall() {
    const tall = this.box.dataset.tall !== "1";
    this.box.dataset.tall = tall ? "1" : "0";
    this.box.style.height = tall ? TALL_HEIGHT : `${this.model.get("height")}px`;
    this.tallButton.textContent = tall ? "Shorter" : "Taller";
  }
  async start() {
    const base = jupyterBaseUrl();
    const route = this.model.get("viewer_route");
    const url = base && route ? new URL(`${route}index.html`, base).href : null;
    this.setStatus("loading the viewer\u2026");
    if (url && await isViewer(url)) {
      this.sameOrigin = true;
      this.frame.addEventListener("load", () => this.showModel());
      this.frame.src = url;
    } else if (this.model.get("fallback_url")) {
      this.loadFallback();
    } else {
      this.setStatus("asking the kernel for its local viewer\u2026");
      this.model.send({ event: "need-loopback" });
    }
  }
  loadFallback() {
    const url = this.model.get("fallback_url");
    if (this.disposed || this.sameOrigin || !url) {
      return;
    }
    this.frame.src = url;
    this.setStatus("served by the kernel on 127.0.0.1: the Jupyter server here has no tfl_jupyter extension, so this works only with the browser on the kernel's machine");
  }
  async showModel() {
    if (this.disposed || !this.sameOrigin || !this.frame.contentDocument) {
      return;
    }
    const bytes = modelBytes(this.model);
    if (bytes.length === 0) {
      this.setStatus("no model");
      return;
    }
    const generation = ++this.generation;
    const superseded = () => this.disposed || generation !== this.generation;
    try {
      let drawn = 0;
      await this.focus.during(async () => {
        await whenViewerReady(this.frame, superseded);
        this.setStatus("drawing the graph\u2026");
        const dropped = performance.now();
        dropModel(this.frame, bytes, this.model.get("filename"));
        await whenModelShown(this.frame, superseded);
        drawn = performance.now() - dropped;
      });
      this.frame.contentDocument.body.dataset.tflDrawMs = drawn.toFixed(1);
      this.setStatus("");
    } catch (error) {
      if (!superseded()) {
        this.setStatus(error.message);
      }
    }
  }
  dispose() {
    this.disposed = true;
    this.overlay.dispose();
    this.focus.dispose();
    this.model.off("change:model_bytes", this.onBytes);
    this.model.off("change:fallback_url", this.onFallback);
    this.model.off("change:height", this.onHeight);
    this.model.off("change:filename", this.onFilename);
  }
};
function render({ model, el }) {
  const viewer = new NetronViewer(model, el);
  return () => viewer.dispose();
}
var netron_view_default = { render };
export {
  netron_view_default as default,
  jupyterBaseUrl
};
