//! Attacks on the memory, environment and binary of nsscript from inside a
//! container: /proc/PID/mem, environ, cmdline, exe of every process the
//! container can see.
