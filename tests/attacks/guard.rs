//! Attacks that talk the host guard around: covering /proc, joining pid
//! 1's namespaces, moving links into the host, writing /proc/sys, letting
//! mounts propagate back.
