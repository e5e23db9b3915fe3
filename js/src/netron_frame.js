// Reading the state of a same-origin Netron page from its parent.
//
// Netron keeps its screen state in <body class="...">: "welcome spinner" while it starts
// or opens a model, "welcome" when it waits for a file (its drop handler is registered
// just before), "default" when a graph is shown; "notification" or "alert" while it shows
// a message (consent, "please update", an error) and "message" when it gave up starting.

const POLL_MS = 50;
const READY_TIMEOUT_MS = 60000;
const RENDER_TIMEOUT_MS = 120000;

const DIALOG_CLASSES = ["notification", "alert", "message"];

function bodyClasses(frame) {
  const body = frame.contentDocument && frame.contentDocument.body;
  return body ? body.classList : null;
}

function showsDialog(classes) {
  return DIALOG_CLASSES.some((name) => classes.contains(name));
}

/** Whether Netron shows a graph (not its welcome screen, a spinner or a message), by its body's classes. */
export function showsGraph(classes) {
  return classes.contains("default") && !classes.contains("spinner") && !showsDialog(classes);
}

/** The text of a dialog the viewer shows, prefixed for a status line, or "". */
export function frameStatus(frame) {
  const doc = frame.contentDocument;
  const text = doc && doc.getElementById("message-text");
  const classes = bodyClasses(frame);
  return classes && showsDialog(classes) && text && text.innerText
    ? ` (viewer: ${text.innerText})`
    : "";
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
        reject(new Error(`the viewer did not ${what} in ${timeoutMs / 1000} s${detail()}`));
      } else {
        setTimeout(tick, POLL_MS);
      }
    };
    tick();
  });
}

/** Resolve once the Netron app accepts a dropped file (or shows a graph already). */
export function whenViewerReady(frame, cancelled) {
  return poll(() => {
    const classes = bodyClasses(frame);
    return Boolean(frame.contentWindow && frame.contentWindow.__view__ && classes &&
      !classes.contains("spinner") && !showsDialog(classes) &&
      (classes.contains("welcome") || classes.contains("default")));
  }, READY_TIMEOUT_MS, "start", cancelled, () => frameStatus(frame));
}

/** Resolve once a graph is shown; reject with the viewer's message if it shows one. */
export function whenModelShown(frame, cancelled) {
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
