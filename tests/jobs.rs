//! Children side by side: every wait returns its own child's status and
//! whole output, whatever the order of the waits.
