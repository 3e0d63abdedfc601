//! Render a chart into the stream `helm template` prints.
