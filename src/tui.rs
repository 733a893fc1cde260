//! Terminal UI (being written).
