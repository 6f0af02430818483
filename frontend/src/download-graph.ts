// Downloading the drawing: the whole graph (or the selected expanded group) at natural size with its legend, as
// SVG or PNG, named after its run and tag.

import type { GraphRef } from "./api";
import type { LegendModel } from "./colour-by";
import { download, exportFileName, pngOf } from "./export";
import type { GraphView } from "./graph-view";
import { legendDrawing } from "./legend";

/** Downloads `view`'s drawing titled with the graph and what it is coloured by (`colouredBy`, as the page says it). */
export async function downloadGraph(
  view: GraphView,
  graph: GraphRef,
  selected: string | undefined,
  colouredBy: string,
  legend: LegendModel | undefined,
  kind: "svg" | "png",
): Promise<void> {
  const { run, tag } = graph;
  // (the selected group when it is expanded, else the whole graph)
  const shot = view.snapshot(`${run} · ${tag} · coloured by ${colouredBy}`, legend && legendDrawing(legend), selected);
  const file = kind === "svg" ? new Blob([shot.svg], { type: "image/svg+xml" }) : await pngOf(shot.svg, shot.width, shot.height);
  download(file, exportFileName(run, tag, kind));
}
