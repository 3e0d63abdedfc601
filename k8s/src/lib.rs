//! Kubernetes side of Iter8 (apply, release records, Secret driver, readiness, AutoX).
