"""One reader per source: GraphDefs and traces, module records, the Keras callback's model JSON, profiles."""
