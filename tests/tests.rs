//! Integration tests: they drive the real nsscript binary and observe the
//! kernel with the system's own tools.

mod util;

mod core;
mod demos;
mod faults;
mod join;
mod load;
mod repl;
mod stdlib;
mod sweep;
mod topo;
