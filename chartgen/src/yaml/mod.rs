//! YAML and JSON exactly as Helm reads and writes them (go-yaml v2, encoding/json).
