// anywidget front-end of tfl_jupyter's Netron viewer (tfl_jupyter/widgets/netron_view.py).
//
// Where the page comes from a Jupyter server with the tfl_jupyter server extension, the
// viewer is an iframe of that server's own origin ({baseUrl}tfl-jupyter/netron/), and the
// model (bytes synced over the widget's comm) is handed to it as a File in a synthetic
// "drop" event: no file on disk, no port in the kernel, no host other than the page's own.
// Anywhere else (VS Code, a server without the extension) the kernel is asked for its
// loopback fallback server and the iframe shows that URL instead. Overlays are painted by a
// script inside the viewer's page (overlay_frame.js), which both servers serve, so they
// work in either case.

import { FocusGuard } from "./focus_guard.js";
import { whenViewerReady, whenModelShown } from "./netron_frame.js";
import { OverlayControls } from "./overlay_controls.js";

const PROBE_TIMEOUT_MS = 10000;
const TALL_HEIGHT = "85vh";

/** Base URL of the Jupyter server that served this page, or null when there is none. */
export function jupyterBaseUrl(doc = document) {
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

/** Whether `url` answers as the viewer (not a 404, and not a login page after a redirect). */
async function isViewer(url) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      method: "HEAD",
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal,
    });
    return response.ok && response.headers.get("X-TFL-Jupyter-Viewer") === "netron";
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Hand `bytes` to the Netron app in `frame` as if the user had dropped a file on it. */
function dropModel(frame, bytes, filename) {
  const win = frame.contentWindow;
  // The iframe's own constructors: its code sees objects of its own realm.
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
    font: "inherit", fontSize: "12px", padding: "1px 8px", cursor: "pointer",
    border: "1px solid var(--jp-border-color1, #bbb)", borderRadius: "3px",
    background: "var(--jp-layout-color1, #fff)", color: "var(--jp-ui-font-color1, #222)",
  });
  element.addEventListener("click", onClick);
  return element;
}

class NetronViewer {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.disposed = false;
    this.sameOrigin = false;
    this.build();
    this.focus = new FocusGuard(this.frame);
    this.onBytes = () => this.showModel();
    this.onFallback = () => this.loadFallback();
    this.onHeight = () => { this.box.style.height = `${this.model.get("height")}px`; };
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
      display: "flex", gap: "6px", alignItems: "center", padding: "2px 0",
      fontSize: "12px", color: "var(--jp-ui-font-color1, #222)",
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
    // The box can also be resized by dragging its bottom-right corner.
    this.box = document.createElement("div");
    this.box.className = "tfl-netron-box";
    Object.assign(this.box.style, {
      height: `${this.model.get("height")}px`, minHeight: "160px", resize: "vertical",
      overflow: "hidden", border: "1px solid var(--jp-border-color2, #ddd)", background: "#fff",
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
    // An empty viewer_route means "no Jupyter server viewer": go straight to the fallback.
    const base = jupyterBaseUrl();
    const route = this.model.get("viewer_route");
    const url = base && route ? new URL(`${route}index.html`, base).href : null;
    this.setStatus("loading the viewer…");
    if (url && await isViewer(url)) {
      this.sameOrigin = true;
      this.frame.addEventListener("load", () => this.showModel());
      this.frame.src = url; // showModel runs on load, with the focus guarded
    } else if (this.model.get("fallback_url")) {
      this.loadFallback();
    } else {
      this.setStatus("asking the kernel for its local viewer…");
      this.model.send({ event: "need-loopback" });
    }
  }

  loadFallback() {
    const url = this.model.get("fallback_url");
    if (this.disposed || this.sameOrigin || !url) {
      return;
    }
    this.frame.src = url;
    this.setStatus("served by the kernel on 127.0.0.1: the Jupyter server here has no " +
      "tfl_jupyter extension, so this works only with the browser on the kernel's machine");
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
    // Bytes may change again while the viewer starts: only the newest call drops its model.
    const generation = ++this.generation;
    const superseded = () => this.disposed || generation !== this.generation;
    try {
      let drawn = 0;
      await this.focus.during(async () => {
        await whenViewerReady(this.frame, superseded);
        this.setStatus("drawing the graph…");
        const dropped = performance.now();
        dropModel(this.frame, bytes, this.model.get("filename"));
        await whenModelShown(this.frame, superseded);
        drawn = performance.now() - dropped;
      });
      // What bench/bench_overlay_browser.py reads beside the painter's own time.
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
}

function render({ model, el }) {
  const viewer = new NetronViewer(model, el);
  return () => viewer.dispose();
}

export default { render };
