// Netron focuses its own controls as it starts and draws a graph, and a same-origin frame
// may take the page's keyboard focus that way: keys typed in the notebook after running a
// cell would land in the viewer. While a viewer loads, FocusGuard gives the focus back to
// where it was in the page, unless the user has clicked into the viewer.

const SETTLE_MS = 500;

export class FocusGuard {
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
      return; // a cross-origin frame: browsers do not let it take the focus on its own
    }
    doc.addEventListener("pointerdown", () => { this.engaged = true; }, true);
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
      setTimeout(() => { this.loading -= 1; }, SETTLE_MS);
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
}
