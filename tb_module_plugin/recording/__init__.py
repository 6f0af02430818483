"""What needs TensorFlow: the recording API's implementation, the Keras callback, the demo's graphs."""
