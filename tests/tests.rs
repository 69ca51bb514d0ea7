//! Integration tests: they drive the real nsscript binary and observe the
//! kernel with the system's own tools.

mod util;

mod attacks;
mod container;
mod core;
mod demos;
mod docs;
mod doctor;
mod faults;
mod init;
mod jobs;
mod join;
mod load;
mod netlink;
mod repl;
mod spawn;
mod stdlib;
mod sweep;
mod topo;
mod trace;
