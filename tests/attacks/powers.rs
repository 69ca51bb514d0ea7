//! Attacks that use the powers a container's root might keep: undoing the
//! masked and read-only paths, writing the host's sysctls.
