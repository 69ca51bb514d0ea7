//! nsscript: Rhai scripts over the Linux namespace primitives.
//!
//! Layers, each using only the ones below it:
//! `cli` (arguments, modes, exit codes) -> `repl` (the interactive loop) ->
//! `engine` (Rhai wiring) -> `os` (the kernel, no Rhai). `diag` prints
//! script errors.

pub mod cli;
pub mod diag;
pub mod engine;
pub mod os;
pub mod repl;
