// When the page has first shown its content: the moment to start loading what the first view can
// do without (xterm.js, uPlot), so that their download and parsing never delay that paint. It is
// the browser's first-contentful-paint entry. A hidden page does not paint: it goes on at once; a
// browser without paint timing goes on after the next frame.

let painted: Promise<void> | undefined;

export function afterFirstPaint(): Promise<void> {
  painted ??= new Promise<void>((resolve) => {
    if (document.visibilityState === "hidden") return resolve();
    if (!PerformanceObserver.supportedEntryTypes.includes("paint")) return void requestAnimationFrame(() => setTimeout(resolve));
    new PerformanceObserver((entries, observer) => {
      if (!entries.getEntriesByName("first-contentful-paint").length) return;
      observer.disconnect();
      resolve();
    }).observe({ type: "paint", buffered: true });
    // A page hidden before it painted will not paint until it is shown.
    document.addEventListener("visibilitychange", () => resolve(), { once: true });
  });
  return painted;
}
