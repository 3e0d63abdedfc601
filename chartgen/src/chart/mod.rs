//! Charts: loading (directory, .tgz), Chart.yaml, .helmignore, values, --set, schema.
