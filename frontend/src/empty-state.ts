// What the page shows when the logdir holds no graph yet: how to record one, and a button to look again.

import { html } from "./dom";

const RECORDING_EXAMPLE = `writer = tf.summary.create_file_writer(logdir)
tf.summary.trace_on(graph=True)
model(x)                      # call your tf.function / tf.Module once
with writer.as_default():
    tf.summary.trace_export(name="model", step=0)`;

/** The empty state's content; `lookAgain` lists the graphs again. */
export function emptyStateContent(lookAgain: () => void): HTMLElement[] {
  const button = html("button", { type: "button" }, "Look again");
  button.addEventListener("click", lookAgain);
  return [
    html("h2", {}, "No graphs in this logdir yet"),
    html(
      "p",
      {},
      "The Modules tab shows a traced TensorFlow graph as the tree of its tf.Module name scopes. " +
        "Record a trace of one call of your model, then look again:",
    ),
    html("pre", {}, html("code", {}, RECORDING_EXAMPLE)),
    html(
      "p",
      {},
      "Graphs written with tf.summary.graph and by the Keras TensorBoard callback (write_graph=True) are listed too.",
    ),
    button,
  ];
}
