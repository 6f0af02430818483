// Module worker that runs dagre off the main thread, one group per message, so the page stays responsive.

import { computeLayout } from "./layout-engine";
import type { LayoutRequest } from "./layout";

export interface LayoutJob {
  id: number;
  request: LayoutRequest;
}

export type LayoutAnswer = { id: number; layout: ReturnType<typeof computeLayout> } | { id: number; error: string };

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<LayoutJob>) => void) | null;
  postMessage(answer: LayoutAnswer): void;
};

scope.onmessage = (event) => {
  const { id, request } = event.data;
  try {
    scope.postMessage({ id, layout: computeLayout(request) });
  } catch (error) {
    scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};
