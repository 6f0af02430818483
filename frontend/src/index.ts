// Entry point of the Modules tab (tb_module_plugin's browser front end).
//
// Notes for whoever works on this:
// - TensorBoard imports the built bundle (static/index.js, served as ./index.js) inside an iframe at
//   /data/plugin_entry.html?name=module_graph with <base href="plugin/module_graph/"> and calls render().
//   Its Content-Security-Policy forbids inline scripts, eval and other origins, and has no worker-src: the
//   layout worker is a same-origin module file (./static/layout-worker.js) and the CSS is ./static/style.css.
// - Build: `npm ci && npm run build` (esbuild, deterministic) writes ../tb_module_plugin/static/, which is
//   committed because pip users have no Node. `npm run check` rebuilds and fails when that changes the
//   committed bundle. `npm test` type-checks and runs the unit tests (node --test over test/*.test.ts,
//   compiled by esbuild into test-build/); test/fake-graph.ts answers like the API for them.
// - Try it: `tensorboard --logdir L` with the package installed, then /data/plugin_entry.html?name=module_graph.
// - Modules (each file one job; test/imports.test.ts fails on an import circle or a file over 400 lines): api
//   (HTTP client), hierarchy-store (cache of group listings), visible (which nodes are drawn; visible-node its
//   type, child-groups the chunks, prefix groups and folds of long lists, paths), explorer (expanded set,
//   selection, reveal), session (what belongs to the open graph; drops answers that come after it closed),
//   layout (sizes, nesting of the per-group layouts), layout-engine (grid, column, chains) + layout-dagre + layout-order (a
//   backward group after the forward children) +
//   layout-worker + layout-client (dagre off the main thread; linear layouts, and the first small ones, on the
//   page), graph-view (draws the scene) with graph-camera (zoom, pan, fit), graph-paint (nodes, labels,
//   badges), graph-edges, graph-geometry, graph-minimap, tree-view, details-panel, search-box, graph-picker,
//   app (wiring) in page-shell (the frame) with graph-controls, view-address, download-graph, details-loader
//   (what the details panel is given); comparing two graphs: compare-picker, diff-marks (a node's status), diff-view
//   (its marks), diff-legend, diff-details, diff-scale (colour by difference), next-change; module-info
//   (class, parameters, frozen, variables and repeat marks of module nodes), costs + number-format +
//   colour-scale + colour-by + cost-view + legend (costs and devices on one scale), theme (TensorBoard's dark
//   mode; the palette is CSS variables in styles/base.css, one stylesheet per component in styles/).
// - Test hooks (exact, relied on by other tools): [data-path] graph nodes with data-expanded/data-chunk,
//   data-frozen="true" (frozen modules), data-repeat="<key>" (repeated structure), data-diff="<status>" (comparing;
//   tree items too) and a data-shape outline, [data-from][data-to] edges, [data-tree-path] tree items, the only
//   input[type=search], [data-details-for] details, role="alert" errors. Data reaches the DOM as text only.
// - Large scenes (graph-view DRAW_ALL_UP_TO) draw only the nodes near the view: a [data-path] element exists
//   for what is drawn, not for every node of an expanded group. Each expansion step is timed with User
//   Timing ("mg:load", "mg:layout", "mg:job …", "mg:render", "mg:tree" measures) for profiling.

import { createApi } from "./api";
import { App } from "./app";
import { applyTheme, followTheme } from "./theme";

export function render(): void {
  const stylesheet = document.createElement("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = new URL("./static/style.css", import.meta.url).href;
  // The graph measures its pane to fit the first view, so it starts once the styles apply.
  const styled = new Promise((resolve) => {
    stylesheet.onload = stylesheet.onerror = resolve;
  });
  document.head.append(stylesheet);
  document.body.replaceChildren();
  document.body.classList.add("mg-body");
  followTheme((theme) => applyTheme(theme));
  const app = new App(document.body, createApi(), new URL("./static/layout-worker.js", import.meta.url));
  void styled.then(() => app.start());
}
