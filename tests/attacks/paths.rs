//! Attacks on paths that are checked in one place and used in another: a
//! root or a mount target swapped for a symlink while a container starts.
